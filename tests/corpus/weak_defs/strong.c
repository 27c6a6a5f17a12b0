/* Strong overrides for some of the weak defaults in defaults.c. */
const char *backend_name(void) { return "strong-backend"; }
int tuning_value = 20;
int backend_version(void) { return 2; }
