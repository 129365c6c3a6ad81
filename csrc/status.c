#include "fastkeras/fk_status.h"

const char *fk_status_str(int status) {
    switch (status) {
    case FK_OK: return "ok";
    case FK_EBADSHAPE: return "invalid shape or size";
    case FK_ENULL: return "required pointer is NULL";
    case FK_ELABEL: return "label out of range";
    case FK_EBADARG: return "invalid argument value";
    case FK_ENOMEM: return "out of memory";
    case FK_ENODEVICE: return "no CUDA device available";
    case FK_ECUDA: return "CUDA runtime error";
    case FK_ENOTBUILT: return "feature not compiled into this build";
    case FK_EHOSTPTR: return "a pointer given as device memory is host memory";
    default: return "unknown status";
    }
}
