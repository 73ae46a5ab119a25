#include "report.h"

#include "json.h"
#include "namfs/text.h"

#include "namfs/exr.h"

#include <string.h>

static bool asset_ok(const struct asset_report *a)
{
    return verdict_passed(&a->issue);
}

bool report_all_good(const struct check_run *run)
{
    if (run->asset_count == 0)
        return false; /* a delivery without frames is not a NAM */
    for (size_t i = 0; i < run->files.count; i++)
        if (run->results[i].outcome == JUDGED_FAIL)
            return false;
    for (size_t i = 0; i < run->asset_count; i++)
        if (!asset_ok(&run->assets[i]))
            return false;
    return true;
}

static void count_outcomes(const struct check_run *run, size_t counts[4])
{
    memset(counts, 0, 4 * sizeof *counts);
    for (size_t i = 0; i < run->files.count; i++)
        counts[run->results[i].outcome]++;
}

static int path_width(const struct check_run *run)
{
    size_t w = 4;
    for (size_t i = 0; i < run->files.count; i++) {
        size_t n = strlen(run->files.entries[i].relpath);
        if ((run->verbose || run->results[i].outcome == JUDGED_FAIL) && n > w)
            w = n;
    }
    return w > 72 ? 72 : (int)w;
}

static void table_files(FILE *out, const struct check_run *run)
{
    char path[4096], message[VERDICT_MESSAGE_MAX];
    int w = path_width(run);
    bool header = false;

    for (size_t i = 0; i < run->files.count; i++) {
        const struct file_result *r = &run->results[i];
        if (!run->verbose && r->outcome != JUDGED_FAIL)
            continue;
        if (!header)
            fprintf(out, "%-7s %-4s %-*s  %s\n", "VERDICT", "RULE", w, "FILE", "MESSAGE");
        header = true;
        fprintf(out, "%-7s %-4s %-*s  %s\n", judge_outcome_name(r->outcome),
                rule_name(r->verdict.rule), w,
                text_sanitize(run->files.entries[i].relpath, path, sizeof path, '?'),
                text_sanitize(r->verdict.message, message, sizeof message, '?'));
    }
    if (header)
        fputc('\n', out);
}

static void table_assets(FILE *out, const struct check_run *run)
{
    char props[200], range[48], name[4096], message[VERDICT_MESSAGE_MAX];

    if (!run->asset_count)
        return;
    fprintf(out, "%-7s %-4s %-15s %7s %5s  %s\n", "ASSET", "RULE", "FRAMES", "COUNT", "GAPS",
            "SEQUENCE / PROPERTIES / MESSAGE");
    for (size_t i = 0; i < run->asset_count; i++) {
        const struct asset_report *a = &run->assets[i];
        frame_props_describe(&a->props, props, sizeof props);
        snprintf(range, sizeof range, "%0*llu-%0*llu", a->padding, (unsigned long long)a->first,
                 a->padding, (unsigned long long)a->last);
        fprintf(out, "%-7s %-4s %-15s %7llu %5zu  %s%s\n", asset_ok(a) ? "ok" : "fail",
                rule_name(a->issue.rule), range, (unsigned long long)a->count, a->gap_count,
                text_sanitize(a->asset, name, sizeof name, '?'), a->textless ? " (textless)" : "");
        fprintf(out, "%46s%s\n", "", props);
        if (!asset_ok(a))
            fprintf(out, "%46s%s\n", "",
                    text_sanitize(a->issue.message, message, sizeof message, '?'));
    }
    fputc('\n', out);
}

void report_table(FILE *out, const struct check_run *run)
{
    size_t counts[4];
    size_t bad_assets = 0;

    count_outcomes(run, counts);
    for (size_t i = 0; i < run->asset_count; i++)
        bad_assets += !asset_ok(&run->assets[i]);
    table_files(out, run);
    table_assets(out, run);
    fprintf(out,
            "%s: %zu files: %zu passed, %zu failed, %zu skipped; %zu assets, %zu with "
            "issues (profile: %s)\n",
            report_all_good(run) ? "OK" : "NOT A VALID NAM", run->files.count, counts[JUDGED_PASS],
            counts[JUDGED_FAIL], counts[JUDGED_SKIP], run->asset_count, bad_assets,
            run->profile->source);
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

static void json_asset(FILE *out, const struct asset_report *a)
{
    fputs("    {\"asset\": ", out);
    json_string(out, a->asset);
    fprintf(out,
            ", \"textless\": %s, \"first\": %llu, \"last\": %llu, \"count\": %llu, "
            "\"padding\": %d, \"properties\": ",
            a->textless ? "true" : "false", (unsigned long long)a->first,
            (unsigned long long)a->last, (unsigned long long)a->count, a->padding);
    json_props(out, &a->props);
    fputs(", \"gaps\": [", out);
    for (size_t g = 0; g < a->gap_count; g++)
        fprintf(out, "%s[%lld, %lld]", g ? ", " : "", (long long)a->gaps[g].first,
                (long long)a->gaps[g].last);
    fputs("], ", out);
    json_verdict(out, asset_ok(a) ? "pass" : "fail", &a->issue);
    fputc('}', out);
}

void report_json(FILE *out, const struct check_run *run)
{
    size_t counts[4];

    count_outcomes(run, counts);
    fputs("{\n  \"root\": ", out);
    json_string(out, run->root);
    fputs(",\n  \"profile\": ", out);
    json_string(out, run->profile->source);
    fputs(",\n  \"files\": [\n", out);
    for (size_t i = 0; i < run->files.count; i++) {
        fputs("    {\"path\": ", out);
        json_string(out, run->files.entries[i].relpath);
        fputs(", ", out);
        json_verdict(out, judge_outcome_name(run->results[i].outcome), &run->results[i].verdict);
        fputs(i + 1 < run->files.count ? "},\n" : "}\n", out);
    }
    fputs("  ],\n  \"assets\": [\n", out);
    for (size_t i = 0; i < run->asset_count; i++) {
        json_asset(out, &run->assets[i]);
        fputs(i + 1 < run->asset_count ? ",\n" : "\n", out);
    }
    fprintf(out,
            "  ],\n  \"summary\": {\"ok\": %s, \"files\": %zu, \"passed\": %zu, "
            "\"failed\": %zu, \"skipped\": %zu, \"assets\": %zu}\n}\n",
            report_all_good(run) ? "true" : "false", run->files.count, counts[JUDGED_PASS],
            counts[JUDGED_FAIL], counts[JUDGED_SKIP], run->asset_count);
}
