# SPDX-License-Identifier: BSD-2-Clause
EXTRA_DIST += packaging/install-deps.sh tests/run-all.sh .ci/run
EXTRA_DIST += tests/example.sh README LICENSE
