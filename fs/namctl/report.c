/* `namctl check`'s three reports over one summary (summary.h): text for
 * people, by folder with repeated verdicts grouped and lines fitted to the
 * terminal; TSV, one row per file and per asset; JSON on the schema that
 * .namfs/status.json started (namctl(1)). */
#include "report.h"

#include "json.h"
#include "namfs/exr.h"
#include "namfs/text.h"
#include "summary.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define WHAT_COLUMN_MAX 32 /* the frames or names column; longer ones push the message down */

bool report_all_good(const struct check_run *run)
{
    if (run->asset_count == 0)
        return false; /* a delivery without frames is not a NAM */
    for (size_t i = 0; i < run->files.count; i++)
        if (run->results[i].outcome == JUDGED_FAIL)
            return false;
    for (size_t i = 0; i < run->asset_count; i++)
        if (!verdict_passed(&run->assets[i].issue))
            return false;
    return true;
}

static void count_outcomes(const struct check_run *run, size_t counts[4])
{
    memset(counts, 0, 4 * sizeof *counts);
    for (size_t i = 0; i < run->files.count; i++)
        counts[run->results[i].outcome]++;
}

/* Columns to fit: the terminal's when stdout is one, else $COLUMNS, else
 * none (a file or a pipe gets whole lines). */
static int line_width(FILE *out)
{
    struct winsize ws;
    const char *columns = getenv("COLUMNS");

    if (isatty(fileno(out)) && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 40)
        return ws.ws_col;
    if (columns && atoi(columns) > 40)
        return atoi(columns);
    return 0;
}

/* text from column at, broken at spaces before width, each further line
 * indented to indent. Ends the line. */
static void put_wrapped(FILE *out, const char *text, int at, int indent, int width)
{
    while (width && at + (int)strlen(text) > width) {
        int room = width - at;
        int cut = room;
        while (cut > 0 && text[cut] != ' ')
            cut--;
        if (cut <= 0)
            break; /* one word wider than the line: left whole */
        fprintf(out, "%.*s\n%*s", cut, text, indent, "");
        text += cut + 1;
        at = indent;
    }
    fprintf(out, "%s\n", text);
}

/* "1005", "3 frames: 1007-1009", "notes.txt, other.txt" */
static void group_what(const struct check_run *run, const struct verdict_group *g, char *out,
                       size_t len)
{
    char ranges[512];
    size_t used = 0;

    out[0] = '\0';
    if (g->frame_count) {
        summary_ranges(g->frames, g->range_count, ", ", ranges, sizeof ranges);
        used = (size_t)(g->frame_count == 1
                            ? snprintf(out, len, "%s", ranges)
                            : snprintf(out, len, "%zu frames: %s", g->frame_count, ranges));
    }
    for (size_t k = 0; k < g->count && used < len; k++) {
        if (run->results[g->members[k]].frame >= 0)
            continue;
        char name[1024];
        text_sanitize(summary_base_name(run->files.entries[g->members[k]].relpath), name,
                      sizeof name, '?');
        used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "", name);
    }
}

static void text_group(FILE *out, const struct check_run *run, const struct verdict_group *g,
                       int what_width, int width)
{
    char what[2048], message[VERDICT_MESSAGE_MAX];

    group_what(run, g, what, sizeof what);
    text_sanitize(g->first->verdict.message, message, sizeof message, '?');
    int at = fprintf(out, "  %-4s %-4s %-*s  ", judge_outcome_name(g->first->outcome),
                     rule_name(g->first->verdict.rule), what_width, what);
    if ((int)strlen(what) > what_width) { /* the message under it, in its column */
        fprintf(out, "\n%*s", 14 + what_width, "");
        at = 14 + what_width;
    }
    put_wrapped(out, message, at, 14 + what_width, width);
}

static void text_asset(FILE *out, const struct asset_summary *a, int width)
{
    char props[200], gaps[512], refused[512], name[1024], message[VERDICT_MESSAGE_MAX];
    char line[2048];

    text_sanitize(summary_base_name(a->key), name, sizeof name, '?');
    summary_ranges(a->gaps, a->gap_count, ", ", gaps, sizeof gaps);
    summary_ranges(a->refused_frames, a->refused_range_count, ", ", refused, sizeof refused);
    snprintf(line, sizeof line,
             "%s%s: %s%s%s, frames %lld-%lld: %zu passed, %zu refused%s%s%s, %zu gap(s)%s%s%s",
             name, a->report && a->report->textless ? " (textless)" : "",
             verdict_passed(&a->issue) ? "ok" : "fail", verdict_passed(&a->issue) ? "" : " ",
             rule_name(a->issue.rule), (long long)a->first, (long long)a->last, a->passed,
             a->refused, a->refused ? " (" : "", refused, a->refused ? ")" : "", a->gap_count,
             a->gap_count ? " (" : "", gaps, a->gap_count ? ")" : "");
    fputs("  asset ", out);
    put_wrapped(out, line, 8, 8, width);
    if (a->report) {
        frame_props_describe(&a->report->props, props, sizeof props);
        fprintf(out, "        ");
        put_wrapped(out, props, 8, 8, width);
    }
    if (!verdict_passed(&a->issue)) {
        fprintf(out, "        ");
        put_wrapped(out, text_sanitize(a->issue.message, message, sizeof message, '?'), 8, 8,
                    width);
    }
}

static int what_width(const struct check_run *run, const struct summary *s)
{
    char what[2048];
    int w = 4;

    for (size_t i = 0; i < s->count; i++)
        for (size_t g = 0; g < s->folders[i].group_count; g++) {
            group_what(run, &s->folders[i].groups[g], what, sizeof what);
            int n = (int)strlen(what);
            if (n > w && n <= WHAT_COLUMN_MAX)
                w = n;
        }
    return w;
}

static void report_text(FILE *out, const struct check_run *run, const struct summary *s)
{
    size_t counts[4], assets = 0, bad_assets = 0;
    int width = line_width(out), what = what_width(run, s);
    char folder[4096];

    for (size_t i = 0; i < s->count; i++) {
        const struct folder_summary *f = &s->folders[i];
        fprintf(out, "%s/\n",
                f->folder[0] ? text_sanitize(f->folder, folder, sizeof folder, '?') : ".");
        for (size_t a = 0; a < f->asset_count; a++) {
            text_asset(out, &f->assets[a], width);
            assets++;
            bad_assets += !verdict_passed(&f->assets[a].issue);
        }
        for (size_t g = 0; g < f->group_count; g++)
            text_group(out, run, &f->groups[g], what, width);
        fputc('\n', out);
    }
    count_outcomes(run, counts);
    char line[4400];
    snprintf(line, sizeof line,
             "%s: %zu files: %zu passed, %zu failed, %zu skipped; %zu assets, %zu with issues "
             "(profile: %s)",
             report_all_good(run) ? "OK" : "NOT A VALID NAM", run->files.count, counts[JUDGED_PASS],
             counts[JUDGED_FAIL], counts[JUDGED_SKIP], assets, bad_assets, run->profile->source);
    put_wrapped(out, line, 0, 2, width);
}

/* One TSV field: tabs, line ends and other control bytes become '?'. */
static void tsv_field(FILE *out, const char *text, bool last)
{
    char clean[4 * VERDICT_MESSAGE_MAX + 4096];

    fputs(text_sanitize(text, clean, sizeof clean, '?'), out);
    fputc(last ? '\n' : '\t', out);
}

static void tsv_asset(FILE *out, const struct folder_summary *f, const struct asset_summary *a)
{
    char gaps[8192], refused[8192];

    summary_ranges(a->gaps, a->gap_count, ",", gaps, sizeof gaps);
    summary_ranges(a->refused_frames, a->refused_range_count, ",", refused, sizeof refused);
    fputs("asset\t", out);
    tsv_field(out, f->folder, false);
    tsv_field(out, summary_base_name(a->key), false);
    fprintf(out, "%lld\t%lld\t%zu\t%zu\t%s\t%s\t%s\t%s\t", (long long)a->first, (long long)a->last,
            a->passed, a->refused, gaps, refused, verdict_passed(&a->issue) ? "pass" : "fail",
            rule_name(a->issue.rule));
    tsv_field(out, a->issue.message, true);
}

static void tsv_file(FILE *out, const struct check_run *run, size_t i)
{
    const char *path = run->files.entries[i].relpath;
    const struct file_result *r = &run->results[i];
    char folder[4096];

    snprintf(folder, sizeof folder, "%.*s", (int)(summary_base_name(path) - path), path);
    if (folder[0])
        folder[strlen(folder) - 1] = '\0'; /* the slash */
    fputs("file\t", out);
    tsv_field(out, folder, false);
    tsv_field(out, summary_base_name(path), false);
    if (r->frame >= 0)
        fprintf(out, "%lld\t%lld\t1\t%d\t\t\t", (long long)r->frame, (long long)r->frame,
                r->outcome == JUDGED_FAIL);
    else
        fputs("\t\t\t\t\t\t", out);
    fprintf(out, "%s\t%s\t", judge_outcome_name(r->outcome), rule_name(r->verdict.rule));
    tsv_field(out, r->verdict.message, true);
}

static void report_tsv(FILE *out, const struct check_run *run, const struct summary *s)
{
    fputs("kind\tfolder\tname\tfirst\tlast\tframes\trefused\tgaps\trefused_frames\tverdict\trule"
          "\tmessage\n",
          out);
    for (size_t i = 0; i < s->count; i++)
        for (size_t a = 0; a < s->folders[i].asset_count; a++)
            tsv_asset(out, &s->folders[i], &s->folders[i].assets[a]);
    for (size_t i = 0; i < run->files.count; i++)
        tsv_file(out, run, i);
}

static void json_verdict(FILE *out, const char *outcome, const struct verdict *v)
{
    fputs("\"verdict\": ", out);
    json_string(out, outcome);
    fputs(", \"rule\": ", out);
    if (v->rule == RULE_NONE)
        fputs("null", out);
    else
        json_string(out, rule_name(v->rule));
    fputs(", \"message\": ", out);
    json_string(out, v->message);
}

static void json_ranges(FILE *out, const struct status_range *r, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s[%lld, %lld]", i ? ", " : "", (long long)r[i].first, (long long)r[i].last);
    fputc(']', out);
}

static void json_props(FILE *out, const struct frame_props *p)
{
    fprintf(out,
            "{\"format\": \"%s\", \"width\": %u, \"height\": %u, \"bit_depth\": %d, "
            "\"components\": %d, \"channels\": ",
            frame_format_name(p->format), p->width, p->height, p->bit_depth, p->components);
    json_string(out, p->channels);
    if (p->format == FRAME_EXR)
        fprintf(out, ", \"compression\": \"%s\"", exr_codec_name((enum exr_codec)p->codec));
    else
        fprintf(out, ", \"packing\": %d, \"transfer\": %d, \"colorimetric\": %d", p->packing,
                p->transfer, p->colorimetric);
    fputc('}', out);
}

static void json_asset(FILE *out, const struct folder_summary *f, const struct asset_summary *a)
{
    fputs("    {\"asset\": ", out);
    json_string(out, a->key);
    fputs(", \"folder\": ", out);
    json_string(out, f->folder);
    fprintf(out,
            ", \"textless\": %s, \"frames\": %zu, \"refused\": %zu, \"first\": %lld, "
            "\"last\": %lld, \"gaps\": ",
            a->report && a->report->textless ? "true" : "false", a->passed, a->refused,
            (long long)a->first, (long long)a->last);
    json_ranges(out, a->gaps, a->gap_count);
    fputs(", \"refused_frames\": ", out);
    json_ranges(out, a->refused_frames, a->refused_range_count);
    fputs(", \"padding\": ", out);
    if (a->report) {
        fprintf(out, "%d, \"properties\": ", a->report->padding);
        json_props(out, &a->report->props);
    } else {
        fputs("null, \"properties\": null", out);
    }
    fputs(", ", out);
    json_verdict(out, verdict_passed(&a->issue) ? "pass" : "fail", &a->issue);
    fputc('}', out);
}

static void json_group(FILE *out, const struct check_run *run, const struct verdict_group *g)
{
    bool named = false;

    fputs("{", out);
    json_verdict(out, judge_outcome_name(g->first->outcome), &g->first->verdict);
    fprintf(out, ", \"count\": %zu, \"frames\": ", g->count);
    json_ranges(out, g->frames, g->range_count);
    fputs(", \"files\": [", out);
    for (size_t k = 0; k < g->count; k++) {
        if (run->results[g->members[k]].frame >= 0)
            continue;
        fputs(named ? ", " : "", out);
        json_string(out, summary_base_name(run->files.entries[g->members[k]].relpath));
        named = true;
    }
    fputs("]}", out);
}

static void json_files(FILE *out, const struct check_run *run)
{
    for (size_t i = 0; i < run->files.count; i++) {
        const struct file_result *r = &run->results[i];
        fputs("    {\"path\": ", out);
        json_string(out, run->files.entries[i].relpath);
        if (r->frame >= 0)
            fprintf(out, ", \"frame\": %lld, ", (long long)r->frame);
        else
            fputs(", \"frame\": null, ", out);
        json_verdict(out, judge_outcome_name(r->outcome), &r->verdict);
        fputs(i + 1 < run->files.count ? "},\n" : "}\n", out);
    }
}

static void report_json(FILE *out, const struct check_run *run, const struct summary *s)
{
    size_t counts[4], n = 0;

    count_outcomes(run, counts);
    fprintf(out, "{\n  \"schema\": %d,\n  \"root\": ", STATUS_SCHEMA);
    json_string(out, run->root);
    fputs(",\n  \"profile\": ", out);
    json_string(out, run->profile->source);
    fputs(",\n  \"files\": [\n", out);
    json_files(out, run);
    fputs("  ],\n  \"folders\": [", out);
    for (size_t i = 0; i < s->count; i++) {
        const struct folder_summary *f = &s->folders[i];
        fputs(i ? ",\n    {\"folder\": " : "\n    {\"folder\": ", out);
        json_string(out, f->folder);
        fputs(", \"failures\": [", out);
        for (size_t g = 0; g < f->group_count; g++) {
            fputs(g ? ",\n      " : "\n      ", out);
            json_group(out, run, &f->groups[g]);
        }
        fputs(f->group_count ? "\n    ]}" : "]}", out);
    }
    fputs(s->count ? "\n  ],\n  \"assets\": [\n" : "],\n  \"assets\": [\n", out);
    for (size_t i = 0; i < s->count; i++)
        for (size_t a = 0; a < s->folders[i].asset_count; a++, n++) {
            fputs(n ? ",\n" : "", out);
            json_asset(out, &s->folders[i], &s->folders[i].assets[a]);
        }
    fprintf(out,
            "%s  ],\n  \"summary\": {\"ok\": %s, \"files\": %zu, \"passed\": %zu, "
            "\"failed\": %zu, \"skipped\": %zu, \"assets\": %zu}\n}\n",
            n ? "\n" : "", report_all_good(run) ? "true" : "false", run->files.count,
            counts[JUDGED_PASS], counts[JUDGED_FAIL], counts[JUDGED_SKIP], n);
}

bool report_write(FILE *out, const struct check_run *run, enum report_format format)
{
    struct summary s;

    if (!summary_build(run, run->verbose, &s)) {
        fprintf(stderr, "namctl check: out of memory arranging the report\n");
        return false;
    }
    if (format == FORMAT_JSON)
        report_json(out, run, &s);
    else if (format == FORMAT_TSV)
        report_tsv(out, run, &s);
    else
        report_text(out, run, &s);
    summary_free(&s);
    return true;
}
