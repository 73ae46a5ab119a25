/* The delivery report as one HTML page: inline CSS and SVG, no script, no
 * font or image from anywhere else, so it opens from a USB stick.
 *
 * Per asset a continuity strip: the asset's range cut into at most
 * STRIP_BINS bins, each coloured by the worst thing in it (a refused frame,
 * by its rule; a missing one; else present), its tooltip saying what is in
 * it and the first refusal's rule, message and file; bins with a problem
 * link to their line in the list under the strip. 150,000 frames make 250
 * bins and as many lines as there are problems. */
#include "html.h"

#include "namfs/exr.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>

#define STRIP_BINS 250
#define STRIP_WIDTH 1000.0

static void html_text(FILE *out, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
}

/* Rule colours: none green (present frames are), none grey (missing). */
static const char *rule_colour(enum rule_id rule)
{
    static const char *const palette[] = {"#d62728", "#ff7f0e", "#9467bd", "#e377c2", "#8c564b",
                                          "#bcbd22", "#17becf", "#1f77b4", "#a50f15", "#6a3d9a",
                                          "#b15928", "#08519c", "#c51b7d"};
    return palette[(unsigned)rule % (sizeof palette / sizeof palette[0])];
}

#define PRESENT "#2ca02c"
#define MISSING "#b0b0b0"

/* A refused frame of the asset: its number and result. */
struct refusal {
    int64_t frame;
    size_t file;
};

static int by_frame(const void *a, const void *b)
{
    const struct refusal *x = a, *y = b;
    return (x->frame > y->frame) - (x->frame < y->frame);
}

static struct refusal *refusals_of(const struct check_run *run, const char *key, size_t *n)
{
    struct refusal *r = NULL;
    size_t count = 0, cap = 0;

    for (size_t i = 0; i < run->files.count; i++) {
        if (!run->results[i].asset || strcmp(run->results[i].asset, key) != 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct refusal *grown = realloc(r, cap * sizeof *r);
            if (!grown)
                break;
            r = grown;
        }
        r[count++] = (struct refusal){run->results[i].frame, i};
    }
    if (count)
        qsort(r, count, sizeof *r, by_frame);
    *n = count;
    return r;
}

/* What one bin of the strip holds. */
struct bin {
    int64_t first, last;
    uint64_t missing, refused;
    const struct refusal *first_refusal;
};

static void fill_bin(struct bin *b, const struct asset_summary *a, const struct refusal *r,
                     size_t nr, size_t *ri)
{
    for (size_t g = 0; g < a->gap_count; g++) {
        int64_t lo = a->gaps[g].first > b->first ? a->gaps[g].first : b->first;
        int64_t hi = a->gaps[g].last < b->last ? a->gaps[g].last : b->last;
        if (lo <= hi)
            b->missing += (uint64_t)(hi - lo + 1);
    }
    while (*ri < nr && r[*ri].frame < b->first)
        (*ri)++;
    for (size_t k = *ri; k < nr && r[k].frame <= b->last; k++) {
        if (!b->first_refusal)
            b->first_refusal = &r[k];
        b->refused++;
    }
}

static void bin_words(FILE *out, const struct check_run *run, const struct bin *b)
{
    uint64_t span = (uint64_t)(b->last - b->first + 1), held = span - b->missing;
    uint64_t present =
        held - (b->refused < held ? b->refused : held); /* S5: two files, one number */

    if (b->first == b->last)
        fprintf(out, "frame %lld: ", (long long)b->first);
    else
        fprintf(out, "frames %lld-%lld: ", (long long)b->first, (long long)b->last);
    fprintf(out, "%llu present, %llu missing, %llu refused", (unsigned long long)present,
            (unsigned long long)b->missing, (unsigned long long)b->refused);
    if (b->first_refusal) {
        const struct file_result *r = &run->results[b->first_refusal->file];
        fprintf(out, "; %lld refused %s: ", (long long)b->first_refusal->frame,
                rule_name(r->verdict.rule));
        html_text(out, r->verdict.message);
        fputs(" (", out);
        html_text(out, summary_base_name(run->files.entries[b->first_refusal->file].relpath));
        fputc(')', out);
    }
}

static void strip(FILE *out, const struct check_run *run, const struct asset_summary *a,
                  size_t asset_no)
{
    size_t nr, ri = 0;
    struct refusal *r = refusals_of(run, a->key, &nr);
    uint64_t span = a->last >= a->first ? (uint64_t)(a->last - a->first + 1) : 0;
    uint64_t per = span <= STRIP_BINS ? 1 : (span + STRIP_BINS - 1) / STRIP_BINS;
    uint64_t bins = span ? (span + per - 1) / per : 0;
    double w = bins ? STRIP_WIDTH / (double)bins : STRIP_WIDTH;

    fprintf(out,
            "<svg class=\"strip\" viewBox=\"0 0 %.0f 28\" preserveAspectRatio=\"none\" "
            "role=\"img\">\n",
            STRIP_WIDTH);
    for (uint64_t k = 0; k < bins; k++) {
        struct bin b = {a->first + (int64_t)(k * per), 0, 0, 0, NULL};
        b.last = b.first + (int64_t)per - 1 > a->last ? a->last : b.first + (int64_t)per - 1;
        fill_bin(&b, a, r, nr, &ri);
        const char *fill = b.first_refusal
                               ? rule_colour(run->results[b.first_refusal->file].verdict.rule)
                           : b.missing ? MISSING
                                       : PRESENT;
        bool problem = per > 1 && (b.missing || b.refused); /* a frame per bin: its tooltip */
        if (problem)
            fprintf(out, "<a href=\"#a%zu-b%llu\">", asset_no, (unsigned long long)k);
        fprintf(out, "<rect x=\"%.2f\" y=\"2\" width=\"%.2f\" height=\"24\" fill=\"%s\"><title>",
                (double)k * w, w, fill);
        bin_words(out, run, &b);
        fputs("</title></rect>", out);
        fputs(problem ? "</a>\n" : "\n", out);
    }
    fputs("</svg>\n", out);
    /* the problems, bin by bin: where the strip's links lead */
    ri = 0;
    bool any = false;
    for (uint64_t k = 0; per > 1 && k < bins; k++) {
        struct bin b = {a->first + (int64_t)(k * per), 0, 0, 0, NULL};
        b.last = b.first + (int64_t)per - 1 > a->last ? a->last : b.first + (int64_t)per - 1;
        fill_bin(&b, a, r, nr, &ri);
        if (!b.missing && !b.refused)
            continue;
        if (!any)
            fprintf(out,
                    "<details class=\"bins\"><summary>The strip's bins of %llu frames "
                    "that hold a missing or refused frame</summary><ol>\n",
                    (unsigned long long)per);
        any = true;
        fprintf(out, "<li id=\"a%zu-b%llu\">", asset_no, (unsigned long long)k);
        bin_words(out, run, &b);
        fputs("</li>\n", out);
    }
    fputs(any ? "</ol></details>\n" : "", out);
    free(r);
}

static void ranges(FILE *out, const struct status_range *r, size_t n)
{
    char text[64];

    for (size_t i = 0; i < n; i++) {
        summary_ranges(&r[i], 1, ", ", text, sizeof text);
        fprintf(out, "%s%s", i ? ", " : "", text);
    }
}

/* The verdict groups of folder f with a member of asset a (or, with a
 * NULL, with a member of no asset): rule, count, frames, files, message. */
static void group_rows(FILE *out, const struct check_run *run, const struct folder_summary *f,
                       const char *key, const char *heading)
{
    bool header = false;

    for (size_t g = 0; g < f->group_count; g++) {
        const struct verdict_group *v = &f->groups[g];
        size_t mine = 0;
        for (size_t m = 0; m < v->count; m++) {
            const char *asset = run->results[v->members[m]].asset;
            mine += key ? asset && strcmp(asset, key) == 0 : !asset;
        }
        if (!mine)
            continue;
        if (!header && heading) {
            fputs("<h3>", out);
            html_text(out, heading);
            fputs("/</h3>\n", out);
        }
        if (!header)
            fputs("<table class=\"refused\"><tr><th>rule</th><th>count</th><th>frames</th>"
                  "<th>files</th><th>what was expected, what was found</th></tr>\n",
                  out);
        header = true;
        fprintf(out,
                "<tr><td><span class=\"rule\" style=\"background:%s\">%s</span></td>"
                "<td>%zu</td><td>",
                rule_colour(v->first->verdict.rule), rule_name(v->first->verdict.rule), mine);
        if (key)
            ranges(out, v->frames, v->range_count);
        fputs("</td><td>", out);
        for (size_t m = 0, shown = 0; m < v->count; m++) {
            const char *asset = run->results[v->members[m]].asset;
            if (key ? !asset || strcmp(asset, key) != 0 : asset != NULL)
                continue;
            fputs(shown++ ? ", " : "", out);
            html_text(out, summary_base_name(run->files.entries[v->members[m]].relpath));
        }
        fputs("</td><td>", out);
        html_text(out, v->first->verdict.message);
        fputs("</td></tr>\n", out);
    }
    if (header)
        fputs("</table>\n", out);
}

static const struct folder_manifests *manifests_of(const struct html_facts *f, const char *folder)
{
    for (size_t i = 0; i < f->folder_count; i++)
        if (strcmp(f->folders[i].folder, folder) == 0)
            return &f->folders[i];
    return NULL;
}

static void properties(FILE *out, const struct asset_summary *a)
{
    char text[200];

    if (!a->report) {
        fputs("<dt>properties</dt><dd>none: no frame passed</dd>\n", out);
        return;
    }
    frame_props_describe(&a->report->props, text, sizeof text);
    fputs("<dt>properties</dt><dd>", out);
    html_text(out, text);
    fprintf(out, "</dd>\n<dt>numbering</dt><dd>%d digits</dd>\n", a->report->padding);
}

static void asset_section(FILE *out, const struct check_run *run, const struct folder_summary *f,
                          const struct asset_summary *a, size_t asset_no,
                          const struct html_facts *facts)
{
    bool ok = verdict_passed(&a->issue);
    const struct folder_manifests *m = manifests_of(facts, f->folder);

    fprintf(out, "<section class=\"asset %s\">\n<h2>", ok ? "ok" : "bad");
    html_text(out, summary_base_name(a->key));
    fprintf(out, "</h2>\n<p class=\"verdict\">%s", ok ? "pass" : "fail ");
    if (!ok) {
        fprintf(out, "<span class=\"rule\" style=\"background:%s\">%s</span> ",
                rule_colour(a->issue.rule), rule_name(a->issue.rule));
        html_text(out, a->issue.message);
    }
    fprintf(out, "</p>\n<dl>\n<dt>frames</dt><dd>%lld-%lld: %zu present, %zu refused, ",
            (long long)a->first, (long long)a->last, a->passed, a->refused);
    uint64_t missing = 0;
    for (size_t g = 0; g < a->gap_count; g++)
        missing += (uint64_t)(a->gaps[g].last - a->gaps[g].first + 1);
    fprintf(out, "%llu missing</dd>\n", (unsigned long long)missing);
    if (a->gap_count) {
        fputs("<dt>missing</dt><dd>", out);
        ranges(out, a->gaps, a->gap_count);
        fputs("</dd>\n", out);
    }
    if (a->refused_range_count) {
        fputs("<dt>refused</dt><dd>", out);
        ranges(out, a->refused_frames, a->refused_range_count);
        fputs("</dd>\n", out);
    }
    properties(out, a);
    if (a->report && a->report->textless)
        fputs("<dt>kind</dt><dd>textless insert (its gaps are expected)</dd>\n", out);
    fputs("<dt>checksum.txt</dt><dd>", out);
    html_text(out, m ? m->checksum : "absent");
    fprintf(out, "</dd>\n<dt>sealed</dt><dd>%s</dd>\n</dl>\n",
            m && m->sealed ? "yes: its files are in the ASC MHL history"
                           : "no: kept out of the ASC MHL history until it is");
    strip(out, run, a, asset_no);
    group_rows(out, run, f, a->key, NULL);
    fputs("</section>\n", out);
}

static void path_list(FILE *out, const char *title, const struct strlist *l)
{
    fprintf(out, "<h3>%s: %zu</h3>\n", title, l->count);
    if (!l->count)
        return;
    fputs("<ul>\n", out);
    for (size_t i = 0; i < l->count; i++) {
        fputs("<li>", out);
        html_text(out, l->items[i]);
        fputs("</li>\n", out);
    }
    fputs("</ul>\n", out);
}

/* What only a mount knows: files held (N6) or changed behind it (M3),
 * and whether it can record changes at all. */
static void mount_section(FILE *out, const struct html_facts *f)
{
    if (!f->mount)
        return;
    fprintf(out, "<section class=\"asset%s\"><h2>The mount</h2>\n<p>Manifests: %s.",
            f->read_only[0] || f->held.count || f->changed.count ? " bad" : "", f->manifests);
    if (f->read_only[0]) {
        fputs(" <b>Read-only</b>: ", out);
        html_text(out, f->read_only);
    }
    fputs("</p>\n", out);
    path_list(out, "Held files (N6: hidden, system, temp; they stop a seal)", &f->held);
    path_list(out, "Changed behind the mount (M3)", &f->changed);
    fputs("</section>\n", out);
}

/* The one sentence under the verdict. */
static void why(FILE *out, const struct check_run *run, const struct summary *s, bool good)
{
    size_t assets = 0, bad = 0, refused = 0, other = 0;
    uint64_t missing = 0;

    for (size_t i = 0; i < s->count; i++)
        for (size_t k = 0; k < s->folders[i].asset_count; k++) {
            const struct asset_summary *a = &s->folders[i].assets[k];
            assets++;
            bad += !verdict_passed(&a->issue);
            refused += a->refused;
            for (size_t g = 0; g < a->gap_count; g++)
                missing += (uint64_t)(a->gaps[g].last - a->gaps[g].first + 1);
        }
    for (size_t i = 0; i < run->files.count; i++)
        other += run->results[i].outcome == JUDGED_FAIL && !run->results[i].asset;
    if (good) {
        fprintf(out, "%zu asset(s), %zu files: every rule met.", assets, run->files.count);
        return;
    }
    if (!assets) {
        fputs("No frame in the delivery: a NAM holds at least one image sequence.", out);
        return;
    }
    fprintf(out,
            "%zu of %zu asset(s) fail: %zu frame(s) refused, %llu missing, %zu other "
            "file(s) refused.",
            bad, assets, refused, (unsigned long long)missing, other);
}

static const char *const style =
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;padding:0 1em;max-width:70em;"
    "color:#222}"
    "header{padding:.6em 1em;border-radius:6px;color:#fff}header.ok{background:#2ca02c}"
    "header.bad{background:#c0392b}header h1{margin:.1em 0}"
    "section.asset{border:1px solid #ccc;border-radius:6px;padding:.4em 1em;margin:1em 0}"
    "section.bad{border-color:#c0392b}dl{display:grid;grid-template-columns:10em auto;"
    "gap:.15em 1em}dt{color:#666}dd{margin:0}svg.strip{width:100%;height:2.2em;"
    "display:block;margin:.6em 0}.rule{color:#fff;padding:0 .3em;border-radius:3px;"
    "font-weight:bold}table{border-collapse:collapse;width:100%;margin:.5em 0}"
    "td,th{border:1px solid #ddd;padding:.2em .4em;text-align:left;vertical-align:top}"
    "td:last-child{width:40%}details.bins{font-size:.9em;color:#444}.legend "
    "span{display:inline-block;width:1em;"
    "height:1em;vertical-align:middle;margin:0 .3em 0 1em}";

void html_write(FILE *out, const struct check_run *run, const struct summary *s,
                const struct html_facts *f)
{
    bool good = report_all_good(run);
    size_t asset_no = 0;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>NAM "
          "delivery report: ",
          out);
    html_text(out, f->title);
    fprintf(out,
            "</title>\n<style>%s</style></head><body>\n<header class=\"%s\"><h1>%s</h1>\n"
            "<p class=\"why\">",
            style, good ? "ok" : "bad", good ? "VALID NAM" : "NOT VALID");
    why(out, run, s, good);
    fputs("</p></header>\n<p>Delivery <b>", out);
    html_text(out, f->title);
    fprintf(out, "</b>%s, profile ", f->mount ? " (a namfs mount)" : "");
    html_text(out, run->profile->source);
    fprintf(out, ". ASC MHL history: %d generation(s)", f->generations);
    if (f->mount)
        fprintf(out, "; the mount's manifests: %s", f->manifests);
    fputs(".</p>\n<p class=\"legend\">Frames:<span style=\"background:" PRESENT
          "\"></span>present<span style=\"background:" MISSING
          "\"></span>missing<span style=\"background:#d62728\"></span>refused (the colour "
          "of its rule; point at the strip for the message)</p>\n",
          out);
    for (size_t i = 0; i < s->count; i++)
        for (size_t k = 0; k < s->folders[i].asset_count; k++)
            asset_section(out, run, &s->folders[i], &s->folders[i].assets[k], asset_no++, f);
    mount_section(out, f);
    bool other = false;
    for (size_t i = 0; i < run->files.count && !other; i++)
        other = run->results[i].outcome == JUDGED_FAIL && !run->results[i].asset;
    if (other) {
        fputs("<section class=\"asset bad\"><h2>Other files refused</h2>\n", out);
        for (size_t i = 0; i < s->count; i++)
            group_rows(out, run, &s->folders[i], NULL,
                       s->folders[i].folder[0] ? s->folders[i].folder : ".");
        fputs("</section>\n", out);
    }
    fputs("</body></html>\n", out);
}
