// SPDX-License-Identifier: BSD-2-Clause
// Diagnostics.h — the little of dyld's header that IMPCaches.cpp uses, for
// impc-apple.sh (not Apple's file).
#pragma once
#include <string>
#include <vector>
#include <cstdio>
#include <cstdarg>
#include <optional>
#include <tuple>
#include <cmath>
struct Diagnostics {
    bool v = false; bool err = false; std::vector<std::string> w;
    Diagnostics(bool verbose = false) : v(verbose) {}
    void verbose(const char *fmt, ...) { if (getenv("APPLE_VERBOSE")) { va_list a; va_start(a, fmt); vfprintf(stderr, fmt, a); va_end(a);} }
    void warning(const char *fmt, ...) { char b[512]; va_list a; va_start(a, fmt); vsnprintf(b, sizeof b, fmt, a); va_end(a); w.push_back(b); }
    void error(const char *fmt, ...) { err = true; }
    bool hasError() const { return err; }
    const std::vector<std::string>& warnings() const { return w; }
};
struct TimeRecorder { void pushTimedSection() {} void recordTime(const char *) {} void popTimedSection() {} };
static inline int fls(int x) { return x ? 32 - __builtin_clz((unsigned)x) : 0; }
