/* core/ -- the bottom layer: uses nothing above it (fcgi_app/README.md).
 * Status codes shared by every module. Functions that can fail return an
 * mm_status and write their results through out-parameters. */
#ifndef MM_H
#define MM_H

typedef enum {
    MM_OK = 0,
    MM_ERR_NOMEM,      /* allocation failed or a bound was reached */
    MM_ERR_INVALID,    /* input did not validate */
    MM_ERR_TOO_LARGE,  /* input over its size limit */
    MM_ERR_IO,         /* a file or socket operation failed */
    MM_ERR_UNAVAILABLE /* a backend (Redis, game server) did not answer */
} mm_status;

#define MM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
