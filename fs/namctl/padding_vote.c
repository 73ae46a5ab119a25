/* Which padding a title's frames use, decided by all of them.
 *
 * The mount must let the first landed frame fix a title's padding; namctl
 * check sees every name at once, so one 6-digit frame among thirty 5-digit
 * ones is the one that fails (SPEC S3), whichever sorts first. A padded
 * number (01001) fits only its own width; an unpadded one (1001, 10000)
 * fits every width up to its digit count. The width that the most numbers
 * fit wins; of a tie the wider (1001 and 10000 alone make 4 digits). */
#include "padding_vote.h"

#include <stdlib.h>
#include <string.h>

#define WIDTH_MAX 20 /* digits of a 64-bit frame number */

struct tally {
    char title[NAMING_KEY_MAX];
    size_t padded[WIDTH_MAX + 1];   /* padded[w]: zero-padded numbers of w digits */
    size_t unpadded[WIDTH_MAX + 1]; /* unpadded[w]: numbers of w significant digits */
};

struct tallies {
    struct tally *t;
    size_t count;
};

static struct tally *tally_of(struct tallies *all, const char *title)
{
    for (size_t i = 0; i < all->count; i++)
        if (strcmp(all->t[i].title, title) == 0)
            return &all->t[i];
    struct tally *grown = realloc(all->t, (all->count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    all->t = grown;
    struct tally *t = &grown[all->count++];
    memset(t, 0, sizeof *t);
    strcpy(t->title, title); /* both NAMING_KEY_MAX */
    return t;
}

static int winning_width(const struct tally *t)
{
    size_t best = 0;
    int width = 0;

    for (int w = 1; w <= WIDTH_MAX; w++) {
        size_t fit = t->padded[w];
        for (int d = w; d <= WIDTH_MAX; d++)
            fit += t->unpadded[d];
        if (fit && fit >= best)
            best = fit, width = w;
    }
    return width;
}

bool padding_vote(const struct walk_list *files, const struct profile *p, struct seqset *seq)
{
    struct tallies all = {0};
    struct frame_name name;
    struct verdict v;
    bool ok = true;

    for (size_t i = 0; ok && i < files->count; i++) {
        if (!naming_parse(files->entries[i].relpath, p, &name, &v) || name.kind != NAME_FRAME ||
            name.padding < 1 || name.padding > WIDTH_MAX)
            continue;
        struct tally *t = tally_of(&all, name.title);
        int fits = seqset_padding_fits(name.padding, name.frame);
        ok = t != NULL;
        if (ok && fits > 0)
            t->padded[fits]++;
        else if (ok)
            t->unpadded[-fits]++;
    }
    for (size_t i = 0; ok && i < all.count; i++) {
        int width = winning_width(&all.t[i]);
        ok = !width || seqset_expect_padding(seq, all.t[i].title, width);
    }
    free(all.t);
    return ok;
}
