# SPDX-License-Identifier: BSD-2-Clause
EXTRA_DIST += packaging/install-deps.sh packaging/build-packages.sh packaging/try-debs.sh packaging/dscfs.spec packaging/dscfs.rb tests/run-all.sh .ci/run
EXTRA_DIST += tests/example.sh README LICENSE NEWS
