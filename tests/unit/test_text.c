/* Text checks and escapes for names from users. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/text.h"

static void escapes_what_would_break_a_line(void **state)
{
    char out[128];

    (void)state;
    assert_string_equal(text_escape("a.dpx", out, sizeof out), "a.dpx");
    assert_string_equal(text_escape("new\nline\t\a.txt", out, sizeof out),
                        "new\\x0aline\\x09\\x07.txt");
    assert_string_equal(text_escape("\xff\xfe.dpx", out, sizeof out), "\\xff\\xfe.dpx");
    assert_string_equal(text_escape("back\\slash", out, sizeof out), "back\\\\slash");
    assert_string_equal(text_escape("caf\xc3\xa9", out, sizeof out), "caf\xc3\xa9");
    assert_string_equal(text_escape("\x01\x02\x03", out, 9), "\\x01"); /* bounded */
}

static void plain_names(void **state)
{
    (void)state;
    assert_true(text_is_plain("caf\xc3\xa9.dpx"));
    assert_false(text_is_plain("tab\there"));
    assert_false(text_is_plain("\xff"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_what_would_break_a_line),
        cmocka_unit_test(plain_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
