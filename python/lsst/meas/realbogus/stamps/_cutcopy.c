/*
 * The hot loop of cutting cutouts, in C: copy size x size float32 blocks of
 * several images into an (N, C, size, size) array, one memcpy per row.
 * Loaded with ctypes by lsst.meas.realbogus.stamps.cutouts; the Python loop there is
 * the fallback when this library was not built.  Bounds are checked by the
 * caller, which passes only cutouts entirely inside the images.
 */
#include <stddef.h>
#include <string.h>

void copy_cutouts(const float *const *images, long n_images, long width, const long *x0, const long *y0,
                  const long *index, long n_index, long size, float *out) {
    const size_t row_bytes = (size_t)size * sizeof(float);
    for (long k = 0; k < n_index; ++k) {
        const long i = index[k];
        float *dst = out + (size_t)i * n_images * size * size;
        const size_t start = (size_t)y0[i] * width + x0[i];
        for (long c = 0; c < n_images; ++c) {
            const float *src = images[c] + start;
            for (long r = 0; r < size; ++r) {
                memcpy(dst, src, row_bytes);
                dst += size;
                src += width;
            }
        }
    }
}

/* A module init so that the file is also a valid (empty) Python extension module. */
#include <Python.h>
static struct PyModuleDef cutcopy_module = {PyModuleDef_HEAD_INIT, "_cutcopy", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__cutcopy(void) { return PyModule_Create(&cutcopy_module); }
