#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fuzz_smoke.sh — the libFuzzer campaign of tests/fuzz (run.sh) for a short
# time per target (DSC_FUZZ_SMOKE_SECONDS, default 20) on seeds made from
# the builder's arm64e caches, after replaying every committed regression
# input. Skips with a message without clang-19 or its libFuzzer runtime
# (libclang-rt-19-dev). `make fuzz` is the long campaign.
exec sh "${top_srcdir:-.}/tests/fuzz/run.sh" "${DSC_FUZZ_SMOKE_SECONDS:-20}" arm64e
