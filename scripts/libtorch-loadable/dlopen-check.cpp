// dlopen-check LIB...: loads each library, every symbol bound at once (RTLD_NOW, stricter than the .NET runtime), and prints the loader's error if one does
// not load. Exit status 0 when all load. (scripts/libtorch-loadable.sh)
#include <dlfcn.h>
#include <cstdio>

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++)
    {
        if (dlopen(argv[i], RTLD_NOW)) std::printf("%s: loads\n", argv[i]);
        else { std::fprintf(stderr, "%s: %s\n", argv[i], dlerror()); failed = 1; }
    }
    return failed;
}
