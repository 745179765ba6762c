/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * impc_synth.c — impc-apple.sh's white-box driver: random classes (root
 * classes of one image, each with up to MAX methods drawn from SELS
 * selectors of random length, a random priority) go through dscbuild's own
 * IMP-cache placement (the builder's files are compiled in, their static
 * functions included); writes model.txt (the input for impc_apple.cpp) and
 * ours.txt (selector offsets, each cache's shift, mask and buckets).
 *   impc_synth SEED CLASSES SELS MAX
 */
#include "../objc_impc_model.c"
#include "../objc_impcaches.c"
#define rehash uset_rehash      /* objc_impc_model.c has a rehash of its own */
#include "../objc_impc_cons.c"
#include "../objc_impc_sort.c"

/* NSEL selector names of random length (one in ten up to 92 bytes). */
static char **names_make(unsigned nsel)
{
    char **names = xcalloc(nsel, sizeof *names);
    for (unsigned i = 0; i < nsel; i++) {
        int len = 3 + rand() % (rand() % 10 == 0 ? 90 : 20);
        names[i] = xcalloc((size_t)len + 16, 1);
        for (int j = sprintf(names[i], "s%u_", i); j < len; j++)
            names[i][j] = (char)('a' + rand() % 26);
    }
    return names;
}

/* Class k: a root class of priority (k * 7919) % ncls with up to maxm of
 * the selectors, as populateMethodLists would give it. */
static void random_class(struct impc_model *m, FILE *in, unsigned k, unsigned ncls, char **names, unsigned nsel,
                         unsigned maxm)
{
    char *name = xcalloc(16, 1);
    sprintf(name, "C%u", k);
    m->k[k] = (struct impc_class){0, k, name, false, true, -1, {0}, true};
    m->cf.needed.e[k] = (struct impc_name){name, false, (int)((k * 7919u) % ncls)};
    m->d[k] = (struct impc_data){.cls = (long)k, .live = true, .should_gen = true, .root_super = -1};
    m->data_of[k] = k;
    fprintf(in, "class\t%s\t0\t1\t-1\t-1\n", name);
    for (unsigned i = 0, n = 1 + (unsigned)rand() % maxm; i < n; i++) {
        const char *s = names[(unsigned)rand() % nsel];
        if (add_method(m, (long)k, s, (struct impc_method){0, 0, name, false, false}))
            fprintf(in, "method\t%s\n", s);
    }
    m->d[k].bits = (int)ceil_log2(m->d[k].n);
}

static void write_ours(struct impc_plan *pl)
{
    struct impc_model *m = &pl->m;
    FILE *out = fopen("ours.txt", "w");
    if (!out)
        die("ours.txt: cannot write");
    for (size_t i = 0; i < m->nsel; i++)
        if (m->sel[i].live && m->sel[i].placed)
            fprintf(out, "sel\t%s\t%d\n", m->sel[i].name, m->sel[i].offset);
    pl->cache_of = xcalloc(m->nd + 1, sizeof *pl->cache_of);
    for (size_t k = 0; k < m->nk; k++) {
        long d = m->data_of[k];
        if (d < 0 || !(pl->cache_of[d] = gets_cache(pl, d)))
            continue;
        const struct impc_data *x = &m->d[d];
        int mask = (1 << x->bits) - 1;
        fprintf(out, "cache\t0\t%s\t0\tshift %d\tmask %d\n", m->k[k].name, x->shift + 7, mask);
        for (uint32_t j = 0; j < x->n; j++) {
            const struct impc_sel *s = &m->sel[x->m[j].sel];
            fprintf(out, "bucket\t%d\t%s\t%d\n", (s->idx >> x->shift) & mask, s->name, s->offset);
        }
    }
    fclose(out);
}

int main(int argc, char **argv)
{
    if (argc != 5)
        die("usage: impc_synth SEED CLASSES SELS MAX");
    unsigned ncls = (unsigned)atoi(argv[2]), nsel = (unsigned)atoi(argv[3]), maxm = (unsigned)atoi(argv[4]);
    if (!ncls || !nsel || !maxm)
        die("impc_synth: CLASSES, SELS and MAX must be positive");
    srand((unsigned)atoi(argv[1]));
    char **names = names_make(nsel);
    struct impc_plan *pl = xcalloc(1, sizeof *pl);
    struct impc_model *m = &pl->m;
    m->k = xcalloc(ncls, sizeof *m->k);
    m->d = xcalloc(ncls, sizeof *m->d);
    m->data_of = xcalloc(ncls, sizeof *m->data_of);
    m->cf.needed.e = xcalloc(ncls, sizeof *m->cf.needed.e);
    m->nk = m->nd = m->cf.needed.n = ncls;
    FILE *in = fopen("model.txt", "w");
    if (!in)
        die("model.txt: cannot write");
    fprintf(in, "dylib\t/x\n");
    for (unsigned k = 0; k < ncls; k++)
        random_class(m, in, k, ncls, names, nsel, maxm);
    for (unsigned k = 0; k < ncls; k++)
        fprintf(in, "needed\t%s\t0\t%d\n", m->k[k].name, m->cf.needed.e[k].prio);
    fclose(in);
    build(pl);
    write_ours(pl);
    printf("%llu selectors moved out of a full bag\n", (unsigned long long)m->moved);
    return 0;
}
