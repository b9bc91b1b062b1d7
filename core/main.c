#include "cli.h"

int main(int argc, char **argv) { return kam_main(argc, argv); }
