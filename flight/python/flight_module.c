/* maskcodec.survivors._flight: the flight core's ranked survivor coder (flight/src/ranked.c), segment coder
 * (flight/src/segment.c) and predictor fill (flight/src/fill.c) for CPython.
 *
 * The CPython C API and the buffer protocol only (no numpy headers): maskcodec/survivors/ranked.py passes
 * C-contiguous native-order arrays (uint32 indices and keys, uint16 values, pixel-major) and gets bytes back.
 * The coder allocates nothing; this wrapper allocates its workspace (mc_ranked_workspace_size) and the output
 * (mc_ranked_payload_bound bytes, shrunk to the payload) and releases the GIL while the coder runs, so threads
 * code in parallel. Every error code of the core becomes an exception of maskcodec.errors: MC_ERR_ARG an
 * InvalidInputError, a refused payload a FormatError saying what the Python decoder says of it.
 *
 *   ranked_encode(height, width, channels, bits, transform, max_error, idx, keys, values, prior_idx,
 *                 prior_values) -> (payload: bytes, recon: bytes)
 *   ranked_decode(height, width, channels, bits, transform, max_error, payload, idx, keys, prior_idx,
 *                 prior_values) -> values: bytes
 *   segment_encode(width, channels, bits, transform, max_error, lanes, window, room, idx, values) -> (n, body: bytes)
 *   segment_decode(width, channels, bits, transform, max_error, lanes, window, body, idx, where) -> values: bytes
 *
 * recon and values are uint16, n x channels, native order. */
#if defined(__has_include)
#if !__has_include(<Python.h>)
#define MC_NO_PYTHON_HEADERS
#endif
#endif

#ifdef MC_NO_PYTHON_HEADERS
/* Compiled without Python's headers (a syntax check of flight/ alone): this wrapper needs them and setup.py,
 * the one build of it, always puts them on the include path. Nothing is built here. */
typedef int mc_flight_module_needs_python_headers;
#else
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "../include/maskcodec.h"

/* Raises maskcodec.errors.<name>(message), falling back to ValueError if the package cannot be imported. */
static PyObject *raise_maskcodec(const char *name, const char *message)
{
    PyObject *errors = PyImport_ImportModule("maskcodec.errors"), *cls = NULL;
    if (errors) {
        cls = PyObject_GetAttrString(errors, name);
        Py_DECREF(errors);
    }
    if (!cls) {
        PyErr_Clear();
        cls = PyExc_ValueError;
        Py_INCREF(cls);
    }
    PyErr_SetString(cls, message);
    Py_DECREF(cls);
    return NULL;
}

static PyObject *invalid(const char *message)
{
    return raise_maskcodec("InvalidInputError", message);
}

/* The exception of an error code of mc_ranked_encode / mc_ranked_decode. */
static PyObject *raise_error(int err, const mc_ranked_params *p, size_t len)
{
    char message[256];
    uint32_t d = p->max_error, maxval = (1u << p->bits) - 1u;
    switch (err) {
    case MC_ERR_ARG:
        return invalid("the ranked coder refuses the survivors: indices not strictly ascending or outside the "
                       "image, or a value above 2^bits - 1");
    case MC_ERR_SHORT:
        PyOS_snprintf(message, sizeof message,
                      "the ranked payload is %zu bytes; a range-coded stream has at least 4", len);
        break;
    case MC_ERR_INTERVAL:
        PyOS_snprintf(message, sizeof message, "the ranked payload is corrupted: a code lies outside its interval");
        break;
    case MC_ERR_TRUNCATED:
        PyOS_snprintf(message, sizeof message,
                      "the ranked payload ends early: %zu bytes hold fewer symbols than the header says", len);
        break;
    case MC_ERR_RESIDUAL:
        PyOS_snprintf(message, sizeof message,
                      "a residual code of the ranked payload is out of range: codes must be below RANGE = %lu "
                      "(bits=%lu, max_error=%lu)", (unsigned long)((maxval + 2u * d) / (2u * d + 1u) + 1u),
                      (unsigned long)p->bits, (unsigned long)d);
        break;
    case MC_ERR_TRAILING:
        PyOS_snprintf(message, sizeof message, "the ranked payload has bytes after its last symbol");
        break;
    default:  /* MC_ERR_OUTPUT (the output is sized by the bound), or a code these functions never return */
        PyErr_Format(PyExc_SystemError, "the flight ranked coder failed: error %d (%s)", err, mc_error_name(err));
        return NULL;
    }
    return raise_maskcodec("FormatError", message);
}

/* args[0..n) into *field[0..n), each an int in 0..2^32 - 1 (a TypeError or InvalidInputError naming `coder`
 * otherwise). */
static int parse_u32s(PyObject *const *args, uint32_t *const *field, int n, const char *coder)
{
    int i;
    for (i = 0; i < n; i++) {
        unsigned long long v;
        if (!PyLong_Check(args[i])) {
            PyErr_Format(PyExc_TypeError, "the %s's parameters are integers", coder);
            return 0;
        }
        v = PyLong_AsUnsignedLongLong(args[i]);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            v = (unsigned long long)UINT32_MAX + 1u;
        }
        if (v > UINT32_MAX) {
            char message[96];
            PyOS_snprintf(message, sizeof message, "a parameter of the %s is negative or above 2^32 - 1", coder);
            invalid(message);
            return 0;
        }
        *field[i] = (uint32_t)v;
    }
    return 1;
}

/* The six parameters, each 0..2^32 - 1, checked with mc_ranked_check. */
static int parse_params(PyObject *const *args, mc_ranked_params *p)
{
    uint32_t *const field[6] = {&p->height, &p->width, &p->channels, &p->bits, &p->transform, &p->max_error};
    if (!parse_u32s(args, field, 6, "ranked coder")) return 0;
    if (mc_ranked_check(p) != MC_OK) {
        invalid("the ranked coder refuses its parameters: height and width from 1 (at most 2^32 pixels), channels "
                "1..255, bits 1..16, max_error at most 2^(bits-1) - 1, transform 0, 1 (3 channels) or 2 "
                "(2 channels or more)");
        return 0;
    }
    return 1;
}

/* The buffers of one call: each C-contiguous, aligned for its item size. */
typedef struct {
    Py_buffer b[6];
    int n;
} buffers;

static void release(buffers *bs)
{
    while (bs->n > 0) PyBuffer_Release(&bs->b[--bs->n]);
}

/* Gets the buffer of obj into bs (count = its length / item); NULL on failure (an exception set). */
static const void *take(buffers *bs, PyObject *obj, size_t item, const char *what, size_t *count)
{
    Py_buffer *b = &bs->b[bs->n];
    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS) != 0) return NULL;
    bs->n++;
    if ((size_t)b->len % item != 0 || (uintptr_t)b->buf % item != 0) {
        PyErr_Format(PyExc_TypeError, "%s: a buffer of %zu-byte items, aligned", what, item);
        return NULL;
    }
    *count = (size_t)b->len / item;
    return b->buf;
}

typedef struct {
    mc_ranked_params p;
    const uint32_t *idx, *keys;
    size_t n;
    mc_prior prior;
    buffers bs;
} survivors;

/* The survivors' indices and keys and the prior (its indices and values) of a call. */
static int take_survivors(survivors *s, PyObject *idx, PyObject *keys, PyObject *prior_idx, PyObject *prior_values)
{
    size_t nk, nv;
    s->idx = take(&s->bs, idx, 4, "idx", &s->n);
    if (!s->idx) return 0;
    s->keys = take(&s->bs, keys, 4, "keys", &nk);
    if (!s->keys) return 0;
    s->prior.idx = take(&s->bs, prior_idx, 4, "prior_idx", &s->prior.n);
    if (!s->prior.idx) return 0;
    s->prior.values = take(&s->bs, prior_values, 2, "prior_values", &nv);
    if (!s->prior.values) return 0;
    if (nk != s->n || nv / s->p.channels != s->prior.n || nv % s->p.channels) {
        invalid("the ranked coder needs as many keys as indices and channels values for each prior pixel");
        return 0;
    }
    return 1;
}

/* A workspace for the call; NULL with an exception set. */
static void *workspace(const survivors *s, size_t *size)
{
    void *ws;
    *size = mc_ranked_workspace_size(&s->p, s->n, s->prior.n);
    if (!*size) {
        invalid("the ranked coder refuses the survivors: more of them (or of the prior) than the image has pixels");
        return NULL;
    }
    ws = PyMem_RawMalloc(*size);
    if (!ws) PyErr_NoMemory();
    return ws;
}

static PyObject *ranked_encode(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    survivors s;
    const uint16_t *values;
    size_t nv, ws_size, bound, len = 0;
    void *ws = NULL;
    PyObject *payload = NULL, *recon = NULL, *result = NULL;
    int err;
    (void)self;
    memset(&s, 0, sizeof s);
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "ranked_encode takes 11 arguments");
        return NULL;
    }
    if (!parse_params(args, &s.p) || !take_survivors(&s, args[6], args[7], args[9], args[10])) goto done;
    values = take(&s.bs, args[8], 2, "values", &nv);
    if (!values) goto done;
    if (nv != s.n * s.p.channels) {
        invalid("the ranked coder needs channels values for each survivor");
        goto done;
    }
    if (!(ws = workspace(&s, &ws_size))) goto done;
    bound = mc_ranked_payload_bound(&s.p, s.n);
    if (bound > PY_SSIZE_T_MAX || nv > PY_SSIZE_T_MAX / 2) {
        PyErr_NoMemory();
        goto done;
    }
    payload = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)bound);
    recon = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(2u * nv));
    if (!payload || !recon) goto done;
    {
        unsigned char *out = (unsigned char *)PyBytes_AS_STRING(payload);
        uint16_t *rec = (uint16_t *)(void *)PyBytes_AS_STRING(recon);
        Py_BEGIN_ALLOW_THREADS  /* the output holds mc_ranked_payload_bound bytes: MC_ERR_OUTPUT cannot happen */
        err = mc_ranked_encode(&s.p, s.idx, s.keys, values, s.n, &s.prior, ws, ws_size, out, bound, &len, rec);
        Py_END_ALLOW_THREADS
    }
    if (err != MC_OK) {
        raise_error(err, &s.p, 0);
        goto done;
    }
    if (_PyBytes_Resize(&payload, (Py_ssize_t)len) != 0) goto done;  /* frees payload and sets it NULL on failure */
    result = PyTuple_Pack(2, payload, recon);
done:
    Py_XDECREF(payload);
    Py_XDECREF(recon);
    PyMem_RawFree(ws);
    release(&s.bs);
    return result;
}

static PyObject *ranked_decode(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    survivors s;
    const unsigned char *data;
    size_t len, ws_size;
    void *ws = NULL;
    PyObject *values = NULL;
    int err;
    (void)self;
    memset(&s, 0, sizeof s);
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "ranked_decode takes 11 arguments");
        return NULL;
    }
    if (!parse_params(args, &s.p)) goto done;
    data = take(&s.bs, args[6], 1, "payload", &len);
    if (!data) goto done;
    if (!take_survivors(&s, args[7], args[8], args[9], args[10])) goto done;
    if (!(ws = workspace(&s, &ws_size))) goto done;
    if (s.n > PY_SSIZE_T_MAX / 2 / s.p.channels) {
        PyErr_NoMemory();
        goto done;
    }
    values = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(2u * s.n * s.p.channels));
    if (!values) goto done;
    {
        uint16_t *out = (uint16_t *)(void *)PyBytes_AS_STRING(values);
        Py_BEGIN_ALLOW_THREADS
        err = mc_ranked_decode(&s.p, data, len, s.idx, s.keys, s.n, &s.prior, ws, ws_size, out);
        Py_END_ALLOW_THREADS
    }
    if (err != MC_OK) {
        Py_CLEAR(values);
        raise_error(err, &s.p, len);
    }
done:
    PyMem_RawFree(ws);
    release(&s.bs);
    return values;
}

/* ---- the segment coder (flight/src/segment.c, spec 11.3) ---- */

/* The seven parameters of a segment coder, checked with mc_segment_check. */
static int parse_segment_params(PyObject *const *args, mc_segment_params *p)
{
    uint32_t *const field[7] = {&p->width, &p->channels, &p->bits, &p->transform, &p->max_error, &p->lanes,
                                &p->window};
    if (!parse_u32s(args, field, 7, "segment coder")) return 0;
    if (mc_segment_check(p) != MC_OK) {
        invalid("the segment coder refuses its parameters: width from 1, channels 1..65535, bits 1..16, max_error at "
                "most 2^(bits-1) - 1, transform 0, 1 (3 channels) or 2 (2 channels or more), lanes 1..255, window "
                "lanes..65535");
        return 0;
    }
    return 1;
}

static PyObject *segment_encode(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    mc_segment_params p;
    buffers bs;
    const uint32_t *idx;
    const uint16_t *values;
    size_t n, nv, room, ws_size, body_len = 0, count = 0;
    void *ws = NULL;
    PyObject *body = NULL, *result = NULL;
    int err;
    (void)self;
    bs.n = 0;
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError, "segment_encode takes 10 arguments");
        return NULL;
    }
    if (!parse_segment_params(args, &p)) return NULL;
    room = PyLong_AsSize_t(args[7]);
    if (room == (size_t)-1 && PyErr_Occurred()) return NULL;
    if (room < 6 || room > MC_SEGMENT_MAX_ROOM) return invalid("a segment's room is 6 to 65537 bytes");
    if (!(idx = take(&bs, args[8], 4, "idx", &n)) || !(values = take(&bs, args[9], 2, "values", &nv))) goto done;
    if (nv / p.channels != n || nv % p.channels) {
        invalid("the segment coder needs channels values for each survivor");
        goto done;
    }
    ws_size = mc_segment_workspace_size(&p, n < MC_SEGMENT_MAX_RUN ? n : MC_SEGMENT_MAX_RUN);
    if (!ws_size || !(ws = PyMem_RawMalloc(ws_size))) {
        PyErr_NoMemory();
        goto done;
    }
    if (!(body = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)room))) goto done;
    {
        unsigned char *out = (unsigned char *)PyBytes_AS_STRING(body);
        Py_BEGIN_ALLOW_THREADS
        err = mc_segment_encode(&p, idx, values, n, room, ws, ws_size, out, &body_len, &count, NULL);
        Py_END_ALLOW_THREADS
    }
    if (err != MC_OK) {
        invalid("the segment coder refuses the survivors: a column outside the image, survivors out of stream order, "
                "or a value above 2^bits - 1");
        goto done;
    }
    if (_PyBytes_Resize(&body, (Py_ssize_t)body_len) != 0) goto done;
    result = Py_BuildValue("(nO)", (Py_ssize_t)count, body);
done:
    Py_XDECREF(body);
    PyMem_RawFree(ws);
    release(&bs);
    return result;
}

/* The FormatError of a refused body, worded as segment_coding.decode_run_reference words it. */
static PyObject *segment_refusal(int err, const char *where, const mc_segment_params *p, const unsigned char *body,
                                 size_t len)
{
    char message[512];
    size_t size = len >= 2 ? ((size_t)body[0] | (size_t)body[1] << 8) : 0;
    uint32_t d = p->max_error, maxval = (1u << p->bits) - 1u;
    switch (err) {
    case MC_ERR_BODY:
        PyOS_snprintf(message, sizeof message, "%s has no room for its payload size", where);
        break;
    case MC_ERR_PAYLOAD_SIZE:
        PyOS_snprintf(message, sizeof message, "%s: payload_size %zu runs past the %zu bytes of its body", where, size,
                      len - 2);
        break;
    case MC_ERR_PADDING:
        PyOS_snprintf(message, sizeof message, "%s: the bytes after its payload must be zero", where);
        break;
    case MC_ERR_SHORT:
        PyOS_snprintf(message, sizeof message, "%s is %zu bytes; a range-coded stream has at least 4", where, size);
        break;
    case MC_ERR_INTERVAL:
        PyOS_snprintf(message, sizeof message, "%s is corrupted: a code lies outside its interval", where);
        break;
    case MC_ERR_TRUNCATED:
        PyOS_snprintf(message, sizeof message, "%s ends early: %zu bytes hold fewer symbols than the header says",
                      where, size);
        break;
    case MC_ERR_RESIDUAL:
        PyOS_snprintf(message, sizeof message, "%s: a residual code is out of range: codes must be below RANGE = %lu",
                      where, (unsigned long)((maxval + 2u * d) / (2u * d + 1u) + 1u));
        break;
    case MC_ERR_TRAILING:
        PyOS_snprintf(message, sizeof message, "%s has bytes after its last symbol", where);
        break;
    case MC_ERR_ARG:
        return invalid("the segment decoder refuses the survivors: a column outside the image or survivors out of "
                       "stream order");
    default:
        PyErr_Format(PyExc_SystemError, "the flight segment coder failed: error %d (%s)", err,
                     mc_segment_error_name(err));
        return NULL;
    }
    return raise_maskcodec("FormatError", message);
}

static PyObject *segment_decode(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    mc_segment_params p;
    buffers bs;
    const unsigned char *body;
    const uint32_t *idx;
    const char *where;
    size_t len, n, ws_size;
    void *ws = NULL;
    mc_segment_coder *s;
    PyObject *values = NULL;
    int err;
    (void)self;
    bs.n = 0;
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError, "segment_decode takes 10 arguments");
        return NULL;
    }
    if (!parse_segment_params(args, &p)) return NULL;
    if (!(where = PyUnicode_AsUTF8(args[9]))) return NULL;
    if (!(body = take(&bs, args[7], 1, "body", &len)) || !(idx = take(&bs, args[8], 4, "idx", &n))) goto done;
    if (n > MC_SEGMENT_MAX_RUN) {
        invalid("a segment holds at most 65535 survivors");
        goto done;
    }
    ws_size = mc_segment_workspace_size(&p, n);
    if (!ws_size || !(ws = PyMem_RawMalloc(ws_size))) {
        PyErr_NoMemory();
        goto done;
    }
    if (!(values = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(2u * n * p.channels)))) goto done;
    s = mc_segment_init(&p, n, ws, ws_size);
    {
        uint16_t *out = (uint16_t *)(void *)PyBytes_AS_STRING(values);
        Py_BEGIN_ALLOW_THREADS
        err = mc_segment_decode(s, body, len, idx, n, out);
        Py_END_ALLOW_THREADS
    }
    if (err != MC_OK) {
        Py_CLEAR(values);
        segment_refusal(err, where, &p, body, len);
    }
done:
    PyMem_RawFree(ws);
    release(&bs);
    return values;
}

/* ---- the predictor fill (flight/src/fill.c) ---- */

/* A fill's parameters, its buffers (known: H W bytes, then the samples) and its workspace. */
typedef struct {
    uint32_t height, width, channels;
    size_t pixels, ws_size;
    const unsigned char *known;
    void *ws;
    buffers bs;
} fill_call;

/* The writable buffer of count items of `item` bytes in obj; 0 with an exception set. */
static int writable_buffer(buffers *bs, PyObject *obj, size_t item, size_t count, void **data)
{
    Py_buffer *b = &bs->b[bs->n];
    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) return 0;
    bs->n++;
    if ((uintptr_t)b->buf % item || (size_t)b->len / item != count || (size_t)b->len % item) {
        invalid("the predictor fill needs H W channels samples, aligned and writable");
        return 0;
    }
    *data = b->buf;
    return 1;
}

/* The parameters (args[0..3)), known (args[3]) and the workspace of a fill; 0 with an exception set. */
static int fill_setup(PyObject *const *args, fill_call *fc)
{
    uint32_t *const field[3] = {&fc->height, &fc->width, &fc->channels};
    size_t nk;
    fc->bs.n = 0;
    fc->ws = NULL;
    if (!parse_u32s(args, field, 3, "predictor fill")) return 0;
    fc->ws_size = mc_fill_workspace_size(fc->height, fc->width);
    if (!fc->ws_size || fc->channels == 0) {
        invalid("the predictor fill needs height and width from 1 (H W below 2^32) and channels from 1");
        return 0;
    }
    fc->pixels = (size_t)fc->height * fc->width;
    if (fc->pixels > PY_SSIZE_T_MAX / 4u / fc->channels) {
        PyErr_NoMemory();
        return 0;
    }
    if (!(fc->known = take(&fc->bs, args[3], 1, "known", &nk))) return 0;
    if (nk != fc->pixels) {
        invalid("the predictor fill needs H W known bytes");
        return 0;
    }
    if (!(fc->ws = PyMem_RawMalloc(fc->ws_size))) {
        PyErr_NoMemory();
        return 0;
    }
    return 1;
}

/* Releases what fill_setup took; None, or NULL with the exception of err (or the one already set). */
static PyObject *fill_done(fill_call *fc, int err)
{
    PyMem_RawFree(fc->ws);
    release(&fc->bs);
    if (err != MC_OK) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_SystemError, "the flight predictor fill failed: error %d (%s)", err, mc_error_name(err));
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *fill(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    fill_call fc;
    void *values;
    int err = MC_ERR_ARG;
    (void)self;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "fill takes 5 arguments");
        return NULL;
    }
    if (fill_setup(args, &fc) && writable_buffer(&fc.bs, args[4], 2, fc.pixels * fc.channels, &values)) {
        Py_BEGIN_ALLOW_THREADS
        err = mc_fill(fc.height, fc.width, fc.channels, fc.known, (uint16_t *)values, fc.ws, fc.ws_size);
        Py_END_ALLOW_THREADS
    }
    return fill_done(&fc, err);
}

/* rint(clip(x, 0, 1) * 65535) (NaN: 0), ties to even as numpy's rint: x * 65535 in float32, then its integer part
 * and the exact remainder (below 2^24, so exact in float32). */
static uint16_t to_u16(float x)
{
    float t;
    uint32_t n;
    if (!(x > 0.0f)) return 0;
    if (x >= 1.0f) return 65535u;
    t = x * 65535.0f;
    n = (uint32_t)t;
    t -= (float)n;
    return (uint16_t)(n + (t > 0.5f || (t == 0.5f && (n & 1u))));
}

static PyObject *fill_unit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    fill_call fc;
    const float *image;
    void *out;
    uint16_t *values = NULL;
    size_t ni, i, c, n;
    int err = MC_ERR_ARG;
    (void)self;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "fill_unit takes 6 arguments");
        return NULL;
    }
    if (!fill_setup(args, &fc) || !(image = take(&fc.bs, args[4], 4, "image", &ni))
        || !writable_buffer(&fc.bs, args[5], 4, fc.pixels * fc.channels, &out))
        return fill_done(&fc, err);
    c = fc.channels;
    n = fc.pixels * c;
    if (ni != n) {
        invalid("the predictor fill needs H W channels float32 image samples");
        return fill_done(&fc, err);
    }
    if (!(values = PyMem_RawMalloc(2u * n))) {
        PyErr_NoMemory();
        return fill_done(&fc, err);
    }
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < fc.pixels; i++)  /* only the known pixels' samples are read */
        if (fc.known[i]) {
            size_t k;
            for (k = 0; k < c; k++) values[i * c + k] = to_u16(image[i * c + k]);
        }
    err = mc_fill(fc.height, fc.width, fc.channels, fc.known, values, fc.ws, fc.ws_size);
    if (err == MC_OK)
        for (i = 0; i < n; i++) ((float *)out)[i] = (float)values[i] / 65535.0f;
    Py_END_ALLOW_THREADS
    PyMem_RawFree(values);
    return fill_done(&fc, err);
}

static PyMethodDef methods[] = {
    {"ranked_encode", (PyCFunction)(void (*)(void))ranked_encode, METH_FASTCALL,
     "ranked_encode(height, width, channels, bits, transform, max_error, idx, keys, values, prior_idx, "
     "prior_values) -> (payload, recon)\n\nThe ranked payload of values (uint16, n x channels) of the survivors idx "
     "(uint32, ascending) with keys (uint32), and the uint16 values the decoder reconstructs (bytes)."},
    {"ranked_decode", (PyCFunction)(void (*)(void))ranked_decode, METH_FASTCALL,
     "ranked_decode(height, width, channels, bits, transform, max_error, payload, idx, keys, prior_idx, "
     "prior_values) -> values\n\nThe uint16 values (n x channels, bytes) a ranked payload codes."},
    {"segment_encode", (PyCFunction)(void (*)(void))segment_encode, METH_FASTCALL,
     "segment_encode(width, channels, bits, transform, max_error, lanes, window, room, idx, values) -> (n, body)\n\n"
     "The body (payload_size and range code) of the longest prefix of the survivors idx (uint32, flat, stream order) "
     "with values (uint16, n x channels) that fits in room bytes, and its length n (spec 11.3)."},
    {"segment_decode", (PyCFunction)(void (*)(void))segment_decode, METH_FASTCALL,
     "segment_decode(width, channels, bits, transform, max_error, lanes, window, body, idx, where) -> values\n\n"
     "The uint16 values (n x channels, bytes) a segment's body codes for its survivors idx; a FormatError naming "
     "`where` when the body is refused."},
    {"fill", (PyCFunction)(void (*)(void))fill, METH_FASTCALL,
     "fill(height, width, channels, known, values) -> None\n\nFills the missing pixels of values (uint16, H x W x "
     "channels, writable) in place with the predictor fill (maskcodec.inpainting.predictor_fill); known: H x W bytes, "
     "non-zero for a kept pixel."},
    {"fill_unit", (PyCFunction)(void (*)(void))fill_unit, METH_FASTCALL,
     "fill_unit(height, width, channels, known, image, out) -> None\n\nThe predictor fill of a float32 image (H x W x "
     "channels, on [0, 1] at the known pixels, the only ones read) into out (float32, the same shape, writable): "
     "values rint(clip(x, 0, 1) * 65535) (NaN: 0), filled as fill does, divided by 65535."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_flight",
    "The flight core's ranked and segment survivor coders (flight/src/ranked.c, segment.c), byte for byte "
    "maskcodec.survivors.ranked's and segment_coding's, and its predictor fill (fill.c), byte for byte "
    "maskcodec.inpainting.predictor_fill's reference.",
    0, methods, slots, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit__flight(void)
{
    return PyModuleDef_Init(&module);
}

#endif /* MC_NO_PYTHON_HEADERS */
