/* fastkeras C core: status codes shared by every kernel family.
 * Kernels never abort or print: they return one of these, and the Cython
 * bridge turns it into a Python exception naming the C function. */
#ifndef FASTKERAS_FK_STATUS_H
#define FASTKERAS_FK_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fk_status {
    FK_OK = 0,
    FK_EBADSHAPE = -1,  /* a size is negative, zero where it must not be, or overflows */
    FK_ENULL = -2,      /* a required pointer is NULL */
    FK_ELABEL = -3,     /* an integer label is outside [0, classes) */
    FK_EBADARG = -4,    /* an option is out of range (label_smoothing, epsilon, ...) */
    FK_ENOMEM = -5,     /* an allocation failed */
    FK_ENODEVICE = -6,  /* CUDA requested but no device is present */
    FK_ECUDA = -7,      /* a CUDA runtime call failed */
    FK_ENOTBUILT = -8,  /* the feature was not compiled into this build */
    FK_EHOSTPTR = -9    /* a pointer given as device memory is host memory */
} fk_status;

/* A static, human-readable description of a status code. */
const char *fk_status_str(int status);

#ifdef __cplusplus
}
#endif
#endif
