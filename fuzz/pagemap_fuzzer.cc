// fuzz_pagemap: pagemap-1.img through both image parsers, round trips and the show views.
#include "engine/images/mm.pb.h"
#include "fuzz/message_image_fuzzer.h"

STASIS_MESSAGE_IMAGE_FUZZER(stasis::img::PagemapEntry, "pagemap-1.img")
