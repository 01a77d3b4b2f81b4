// The one source of walship_test_pch, the target that owns the test executables'
// precompiled header (tests/CMakeLists.txt); it defines nothing.
