// SPDX-License-Identifier: BSD-2-Clause
// impc_apple.cpp — impc-apple.sh's other half: the classes of model.txt
// (impc_synth.c) handed to dyld-1378's own cache_builder/IMPCaches.cpp
// through imp_caches::Builder, as estimateIMPCaches hands them; writes
// apple.txt in ours.txt's form (forEachSelector, getIMPCache, Apple's
// rdar://147219191 discard).
#include "IMPCaches.hpp"
#include "IMPCachesBuilder.hpp"
#include "ImpCachesBuilder.h"
#include <fstream>
#include <sstream>
#include <iostream>
#include <deque>
#include <algorithm>
using namespace imp_caches;
static std::deque<std::string> strs;
static std::string_view keep(const std::string& s) { strs.push_back(s); return strs.back(); }
int main() {
    std::ifstream f("model.txt");
    std::string line;
    std::vector<std::vector<std::string>> rows;
    while (std::getline(f, line)) { std::vector<std::string> r; std::stringstream ss(line); std::string t; while (std::getline(ss, t, '\t')) r.push_back(t); rows.push_back(r); }
    json::Node cfg; cfg.map["version"].value = "2";
    std::vector<std::pair<int, json::Node>> needed;
    json::Node& roots = cfg.map["flatteningRoots"];
    std::vector<Dylib> dylibs;
    size_t ndylib = 0; for (auto& r : rows) ndylib += r[0] == "dylib";
    dylibs.reserve(ndylib);
    struct SuperRef { size_t d, c; long sd, sc; };
    std::vector<SuperRef> supers; struct CatRef { size_t d, k; long cd, cc; }; std::vector<CatRef> cats;
    int which = 0; // 0 class 1 cat
    for (auto& r : rows) {
        if (r[0] == "needed") { json::Node n; n.map["name"].value = r[1]; n.map["metaclass"].value = r[2]; needed.push_back({atoi(r[3].c_str()), n}); }
        else if (r[0] == "root") { json::Node n; n.map["name"].value = r[1]; n.map["metaclass"].value = r[2]; roots.array.push_back(n); }
        else if (r[0] == "dylib") dylibs.emplace_back(keep(r[1]));
        else if (r[0] == "class") { auto& d = dylibs.back(); d.classes.emplace_back(keep(r[1]), r[2] == "1", r[3] == "1");
            supers.push_back({dylibs.size() - 1, d.classes.size() - 1, atol(r[4].c_str()), atol(r[5].c_str())}); which = 0; }
        else if (r[0] == "method") dylibs.back().classes.back().methods.emplace_back(keep(r[1]));
        else if (r[0] == "cat") { auto& d = dylibs.back(); d.categories.emplace_back(keep(r[1]));
            cats.push_back({dylibs.size() - 1, d.categories.size() - 1, atol(r[2].c_str()), atol(r[3].c_str())}); which = 1; }
        else if (r[0] == "imethod") dylibs.back().categories.back().instanceMethods.emplace_back(keep(r[1]));
        else if (r[0] == "cmethod") dylibs.back().categories.back().classMethods.emplace_back(keep(r[1]));
    }
    (void)which;
    std::stable_sort(needed.begin(), needed.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (auto& n : needed) cfg.map["neededClasses"].array.push_back(n.second);
    cfg.map["selectorsToInline"];
    for (auto& s : supers) { Class& k = dylibs[s.d].classes[s.c];
        if (!k.isMetaClass && s.c + 1 < dylibs[s.d].classes.size()) k.metaClass = &dylibs[s.d].classes[s.c + 1];
        if (s.sd >= 0) { k.superClass = &dylibs[s.sd].classes[s.sc]; k.superClassDylib = &dylibs[s.sd]; } }
    for (auto& c : cats) if (c.cd >= 0) { dylibs[c.d].categories[c.k].cls = &dylibs[c.cd].classes[c.cc]; dylibs[c.d].categories[c.k].classDylib = &dylibs[c.cd]; }
    Builder b(dylibs, cfg);
    b.buildImpCaches();
    __block std::vector<std::pair<std::string, uint32_t>> sels;
    b.forEachSelector(^(std::string_view s, uint32_t off) { if (off || s != IMPCaches::magicSelector) sels.push_back({std::string(s), off}); });
    std::sort(sels.begin(), sels.end());
    std::ofstream out("apple.txt");
    for (auto& s : sels) out << "sel\t" << s.first << "\t" << s.second << "\n";
    for (uint32_t d = 0; d < dylibs.size(); d++) for (auto& k : dylibs[d].classes) {
        auto c = b.getIMPCache(d, k.name, k.isMetaClass);
        if (!c) continue;
        bool discard = false;
        for (uint32_t slot = 0; slot < c->buckets.size(); slot++) if (!c->buckets[slot].isEmptyBucket && ((c->buckets[slot].selOffset >> c->cache_shift) & c->cache_mask) != slot) discard = true;
        if (discard) continue;
        out << "cache\t" << d << "\t" << k.name << "\t" << k.isMetaClass << "\tshift " << c->cache_shift << "\tmask " << c->cache_mask << "\n";
        std::vector<std::string> lines;
        for (uint32_t slot = 0; slot < c->buckets.size(); slot++) if (!c->buckets[slot].isEmptyBucket) { std::ostringstream o; o << "bucket\t" << slot << "\t" << c->buckets[slot].methodName << "\t" << c->buckets[slot].selOffset << "\n"; lines.push_back(o.str()); }
        for (auto& l : lines) out << l;
    }
    for (auto& w : b.diags.warnings()) std::cerr << "warning: " << w;
    return 0;
}
