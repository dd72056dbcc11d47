/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_table: listings line up for people (Vietnamese names counted in characters, not bytes)
 * and come out as typed JSON and as RFC 4180 CSV for programs.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table.h"

static char *render(const struct table *t, enum table_format fmt)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        assert_int_equal(table_print(t, fmt, f), 0);
        fclose(f);
        return buf;
}

static struct table *sample(void)
{
        static const char *const names[] = {"name", "floor", "note"};
        struct table *t = table_new(3, names);

        assert_non_null(t);
        assert_int_equal(table_row(t), 0);
        assert_int_equal(table_text(t, "Nguyễn Thị Ánh"), 0);
        assert_int_equal(table_int(t, 12), 0);
        assert_int_equal(table_text(t, NULL), 0);
        assert_int_equal(table_row(t), 0);
        assert_int_equal(table_text(t, "Lê An"), 0);
        assert_int_equal(table_int(t, -1), 0);
        assert_int_equal(table_text(t, "x"), 0);
        return t;
}

static void test_text_columns_align_by_characters(void **state)
{
        struct table *t = sample();
        char *out = render(t, TABLE_TEXT);

        (void)state;
        /* "Nguyễn Thị Ánh" is 14 characters but 20 bytes; the next column starts after 14+2. */
        assert_string_equal(out, "name            floor  note\n"
                                 "Nguyễn Thị Ánh     12  -\n"
                                 "Lê An              -1  x\n");
        free(out);
        table_free(t);
}

static void test_json_keeps_types_and_nulls(void **state)
{
        struct table *t = sample();
        char *out = render(t, TABLE_JSON);
        json_t *v = json_loads(out, 0, NULL), *row;

        (void)state;
        assert_non_null(v);
        assert_int_equal(json_array_size(v), 2);
        row = json_array_get(v, 0);
        assert_string_equal(json_string_value(json_object_get(row, "name")), "Nguyễn Thị Ánh");
        assert_true(json_is_integer(json_object_get(row, "floor")));
        assert_int_equal(json_integer_value(json_object_get(row, "floor")), 12);
        assert_true(json_is_null(json_object_get(row, "note")));
        json_decref(v);
        free(out);
        table_free(t);
}

static void test_short_row_is_padded_not_shifted(void **state)
{
        static const char *const names[] = {"a", "b"};
        struct table *t = table_new(2, names);
        char *out;

        (void)state;
        table_row(t);
        table_text(t, "1");
        table_row(t);
        table_text(t, "2");
        table_text(t, "3");
        assert_int_equal(table_rows(t), 2);
        out = render(t, TABLE_TEXT);
        assert_string_equal(out, "a  b\n1  -\n2  3\n");
        free(out);
        table_free(t);
}

static void test_empty_table_prints_header_or_empty_array(void **state)
{
        static const char *const names[] = {"unit"};
        struct table *t = table_new(1, names);
        char *text = render(t, TABLE_TEXT), *json = render(t, TABLE_JSON);

        (void)state;
        assert_string_equal(text, "unit\n");
        assert_string_equal(json, "[]\n");
        free(text);
        free(json);
        table_free(t);
}

static void test_csv_quotes_what_needs_it_and_ends_lines_in_crlf(void **state)
{
        static const char *const names[] = {"id", "cause", "who"};
        struct table *t = table_new(3, names);
        char *out;

        (void)state;
        table_row(t);
        table_int(t, 1);
        table_text(t, "heat: 12.0 K/min, rise 12.0 K");
        table_text(t, NULL);
        table_row(t);
        table_int(t, -2);
        table_text(t, "said \"fire\"\nthen left");
        table_text(t, "Lê An");
        table_row(t);
        table_int(t, 3);
        out = render(t, TABLE_CSV);
        /* RFC 4180: quoted fields for the comma, the quote (doubled) and the line break; an
         * empty cell and a short last row are empty fields; every record ends in CRLF. */
        assert_string_equal(out, "id,cause,who\r\n"
                                 "1,\"heat: 12.0 K/min, rise 12.0 K\",\r\n"
                                 "-2,\"said \"\"fire\"\"\nthen left\",Lê An\r\n"
                                 "3,,\r\n");
        free(out);
        table_free(t);
}

static void test_csv_of_empty_table_is_its_header(void **state)
{
        static const char *const names[] = {"unit", "a,b"};
        struct table *t = table_new(2, names);
        char *out = render(t, TABLE_CSV);

        (void)state;
        assert_string_equal(out, "unit,\"a,b\"\r\n");
        free(out);
        table_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_columns_align_by_characters),
                cmocka_unit_test(test_json_keeps_types_and_nulls),
                cmocka_unit_test(test_short_row_is_padded_not_shifted),
                cmocka_unit_test(test_empty_table_prints_header_or_empty_array),
                cmocka_unit_test(test_csv_quotes_what_needs_it_and_ends_lines_in_crlf),
                cmocka_unit_test(test_csv_of_empty_table_is_its_header),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
