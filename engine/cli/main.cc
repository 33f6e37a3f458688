#include "engine/cli/commands.h"

int main(int argc, char** argv) { return stasis::cli::Main(argc, argv); }
