// SPDX-License-Identifier: BSD-2-Clause
// JSONReader.h — the little of dyld's header that IMPCaches.cpp uses, for
// impc-apple.sh (not Apple's file).
#pragma once
#include <map>
#include <string>
#include <vector>
#include <cstdlib>
#include "Diagnostics.h"
namespace json {
struct Node { std::map<std::string, Node> map; std::vector<Node> array; std::string value; };
inline const Node& getRequiredValue(Diagnostics& d, const Node& n, const char* k) { auto it = n.map.find(k); if (it == n.map.end()) { d.error("x"); static Node e; return e; } return it->second; }
inline const Node* getOptionalValue(Diagnostics&, const Node& n, const char* k) { auto it = n.map.find(k); return it == n.map.end() ? nullptr : &it->second; }
inline uint64_t parseRequiredInt(Diagnostics&, const Node& n) { return strtoull(n.value.c_str(), nullptr, 0); }
inline const std::string& parseRequiredString(Diagnostics&, const Node& n) { return n.value; }
}
