// SPDX-License-Identifier: BSD-2-Clause
// libcxxuser.cpp — C++ with RTTI, without exceptions: vtables (pointers to
// code in __DATA_CONST, __AUTH_CONST on arm64e), type_info objects whose
// vtable pointers bind libSystem's __cxxabiv1 vtables + 16, operator
// new/delete from libSystem, a pure virtual, and a thread_local (TLV
// descriptors binding __tlv_bootstrap).
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
