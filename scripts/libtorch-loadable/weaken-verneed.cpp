// weaken-verneed LIB VERSION: marks the version requirement VERSION (e.g. GLIBCXX_3.4.32) in LIB's .gnu.version_r as
// weak (VER_FLG_WEAK), in place. The dynamic loader then no longer refuses LIB when the library that should define
// VERSION is older; a symbol still bound to VERSION would fail when resolved, so clear those first
// (patchelf --clear-symbol-version) and provide them elsewhere. Exit status: 0 changed or already weak, 1 error or
// VERSION not required by LIB. (scripts/libtorch-loadable.sh)
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>

int main(int argc, char **argv)
{
    if (argc != 3) { std::fprintf(stderr, "usage: %s LIB VERSION\n", argv[0]); return 1; }
    int fd = open(argv[1], O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) { std::perror(argv[1]); return 1; }
    void *map = mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) { std::perror("mmap"); return 1; }
    auto *p = static_cast<unsigned char *>(map);
    auto *eh = reinterpret_cast<Elf64_Ehdr *>(p);
    if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
    {
        std::fprintf(stderr, "%s: not a 64-bit ELF file\n", argv[1]);
        return 1;
    }
    auto *sh = reinterpret_cast<Elf64_Shdr *>(p + eh->e_shoff);
    int found = 0;
    for (int i = 0; i < eh->e_shnum; i++)
    {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        const char *str = reinterpret_cast<const char *>(p + sh[sh[i].sh_link].sh_offset);
        unsigned char *vn = p + sh[i].sh_offset;
        for (Elf64_Word n = 0; n < sh[i].sh_info; n++)
        {
            auto *need = reinterpret_cast<Elf64_Verneed *>(vn);
            unsigned char *va = vn + need->vn_aux;
            for (int j = 0; j < need->vn_cnt; j++)
            {
                auto *aux = reinterpret_cast<Elf64_Vernaux *>(va);
                if (std::strcmp(str + aux->vna_name, argv[2]) == 0)
                {
                    found++;
                    const bool was = aux->vna_flags & VER_FLG_WEAK;
                    aux->vna_flags |= VER_FLG_WEAK;
                    std::printf("%s: %s (from %s) %s a weak version requirement\n", argv[1], argv[2], str + need->vn_file, was ? "was already" : "is now");
                }
                va += aux->vna_next;
            }
            vn += need->vn_next;
        }
    }
    msync(map, st.st_size, MS_SYNC);
    munmap(map, st.st_size);
    close(fd);
    if (!found) { std::fprintf(stderr, "%s: no version requirement %s\n", argv[1], argv[2]); return 1; }
    return 0;
}
