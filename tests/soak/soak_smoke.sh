#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# soak_smoke.sh — make check's short run of the soak test (soak.sh): 8
# readers for DSC_SOAK_SMOKE_SECONDS (default 10) plus the truncation,
# replacement and SIGTERM phases. `make soak` is the long one.
exec sh "${top_srcdir:-.}/tests/soak/soak.sh" "${DSC_SOAK_SMOKE_SECONDS:-10}" 8
