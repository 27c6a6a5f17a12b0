/* Second translation unit with literals duplicating those in main.c. */
const char *other_greeting(void) { return "hello from other.c"; }
const char *other_dup(void) { return "shared literal"; }
const char *const other_words[] = { "red", "violet", "shared literal", "tab\there",
                                    "quote\"d", "back\\slash", "newline\\n" };
const int other_word_count = sizeof other_words / sizeof other_words[0];
