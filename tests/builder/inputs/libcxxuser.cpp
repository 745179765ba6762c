// SPDX-License-Identifier: BSD-2-Clause
// libcxxuser.cpp — C++ with RTTI and exceptions: vtables (pointers to
// code in __DATA_CONST, __AUTH_CONST on arm64e), type_info objects whose
// vtable pointers bind libSystem's __cxxabiv1 vtables + 16, operator
// new/delete from libSystem, a pure virtual, a thread_local (TLV
// descriptors binding __tlv_bootstrap), and functions with a cleanup and a
// catch: their unwind information names __gxx_personality_v0 through a
// __got slot no code loads (the __unwind_info personality array; on
// x86_64 also an __eh_frame CIE, and on AArch64 through _cxx_dwarf_frame,
// whose frame compact unwind cannot describe).
//
// Each class has a key function (its out-of-line destructor), so its vtable
// and type_info are strong definitions here: linkonce ones would be
// "non-unique" RTTI, whose name pointer arm64 clang tags with bit 63.
struct Shape {
    virtual int area() const = 0;
    virtual ~Shape();
};

struct Square : Shape {
    int side;
    explicit Square(int s) : side(s) {}
    int area() const override { return side * side; }
    ~Square() override;
};

struct Circle : Shape {
    int r;
    explicit Circle(int x) : r(x) {}
    int area() const override { return 3 * r * r; }
    ~Circle() override;
};

Shape::~Shape() {}
Square::~Square() {}
Circle::~Circle() {}

thread_local int cxx_calls = 0;

extern "C" int cxx_total(int x)
{
    Shape *shapes[2] = {new Square(x), new Circle(x)};
    int sum = 0;
    for (Shape *s : shapes) {
        sum += s->area();
        delete s;
    }
    return sum + cxx_calls++;
}

extern "C" int sys_puts(const char *s);
extern "C" void sys_free(void *p);

struct Guard {
    void *p;
    ~Guard() { sys_free(p); }
};

extern "C" int cxx_guarded(const char *s)
{
    Guard g{const_cast<char *>(s)};
    return sys_puts(s);
}

extern "C" int cxx_catching(const char *s)
{
    try {
        return sys_puts(s);
    } catch (...) {
        return -1;
    }
}

#if defined(__aarch64__)
// x19 saved apart from a register pair: compact unwind has no encoding for
// that, so the linker keeps this function's DWARF FDE, whose CIE names the
// personality (DW_EH_PE_indirect|pcrel|sdata4 to the __got slot).
__asm__(".text\n.globl _cxx_dwarf_frame\n.p2align 2\n_cxx_dwarf_frame:\n.cfi_startproc\n"
        ".cfi_personality 155, ___gxx_personality_v0\n"
        "stp x29, x30, [sp, #-32]!\n.cfi_def_cfa_offset 32\n.cfi_offset w30, -24\n.cfi_offset w29, -32\n"
        "str x19, [sp, #16]\n.cfi_offset w19, -16\n"
        "ldr x19, [sp, #16]\nldp x29, x30, [sp], #32\nret\n.cfi_endproc\n");
#endif
