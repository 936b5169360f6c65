"""numba-compiled Rhythmic Sharing loops (used through :mod:`astroglia.rhythmic.kernel`).

A whole series runs inside one compiled call, on buffers allocated once. One step from ``(n(t), Phi(t))``:

1. nodes: ``n(t+1)`` from ``(A o M) n(t)``, ``wmod = A_l M_l`` having been computed with the phases' sines;
2. links, in blocks of :data:`_BLOCK`: the neighbours' field ``sum_k A_Phi[l, k] (cos Phi_k, sin Phi_k)``
   (each link's sum taken sequentially over its sorted CSR row, the order of the NumPy reference's
   ``bincount``), the gain from ``n(t+1)``, then, elementwise and vectorised, ``Phi(t+1)`` and its cosine,
   sine and ``wmod``, written to a second trig buffer (the two are swapped after the step);
3. the order parameter from the new cosines and sines.

The cost of a step is dominated by the gather in 2: ``nnz(A_Phi) ~ L k_Phi`` (cos, sin) pairs. Link blocks
are independent of each other (they read the old trig buffer and write only their own rows), so the
parallel version (``prange`` over blocks) computes every value with the same operations in the same order
as the serial one: results do not depend on the number of threads. The order-parameter sum, the only
reduction over links, stays serial.

Sines, cosines and tanh come from branch-free polynomial evaluations that the compiler turns into SIMD code
(no ``fastmath``: every expression is evaluated as written): :func:`_sincos` (two-part Cody-Waite reduction
by pi/2 and the fdlibm ``__kernel_sin``/``__kernel_cos`` polynomials; absolute error about 1e-16 for
``|x| < 2**19 pi/2``, larger or non-finite phases fall back to ``math.sin``/``math.cos``) and :func:`_tanh`
(absolute error about 2e-16, as libm's). ``error_model="numpy"``: a float division by zero gives inf/nan
instead of raising, which lets the vectoriser handle the guarded divisions.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["closed_loop_loop", "drive_loop", "sincos_array", "tanh_array"]

# --- sin/cos: two-part Cody-Waite reduction and the fdlibm kernels (|r| <= pi/4) ---
_PIO2_1 = 1.57079632673412561417e00  # first 33 bits of pi/2: fn * _PIO2_1 is exact for |fn| < 2**20
_PIO2_1T = 6.07710050650619224932e-11  # pi/2 - _PIO2_1
_INVPIO2 = 6.36619772367581382433e-01  # 2/pi
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: (v + _MAGIC) - _MAGIC rounds v to the nearest integer
_LIM = 823549.6653753182  # 2**19 * pi/2: above this (or non-finite) use libm
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11
_TINY = 1e-290  # c^2 + s^2 below this with (c, s) != 0 may have underflowed: rescale first
_UNDERFLOW_SCALE = 2.0**600  # exact rescaling of a tiny field before taking its direction
_BLOCK = 256  # links per block (the unit of parallel work)


@numba.njit(inline="always")
def _sincos(x: float) -> tuple[float, float]:  # pragma: no cover
    """(sin x, cos x) for ``|x| < _LIM`` without branches; meaningless (but no exception) otherwise."""
    xc = x if abs(x) < _LIM else 0.0
    fn = (xc * _INVPIO2 + _MAGIC) - _MAGIC  # nearest multiple of pi/2
    r = (xc - fn * _PIO2_1) - fn * _PIO2_1T
    q = fn - 4.0 * ((fn * 0.25 + _MAGIC) - _MAGIC)  # fn mod 4 in {-2, -1, 0, 1, 2}
    z = r * r
    sp = r + z * r * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    hz = 0.5 * z
    w = 1.0 - hz
    cp = w + (((1.0 - w) - hz) + z * (z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))))
    aq = abs(q)
    sv = cp if aq == 1.0 else sp
    cv = sp if aq == 1.0 else cp
    s = -sv if (aq == 2.0 or q == -1.0) else sv
    c = -cv if (aq == 2.0 or q == 1.0) else cv
    return s, c


@numba.njit(inline="always")
def _sincos1(x: float) -> tuple[float, float]:  # pragma: no cover
    """Scalar (sin x, cos x), the same values as the vector path: :func:`_sincos` or libm beyond it."""
    if abs(x) < _LIM:
        return _sincos(x)
    return math.sin(x), math.cos(x)


# --- tanh: cephes rational form for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1) with the fdlibm exp ---
_TP0 = -9.64399179425052238628e-1
_TP1 = -9.92877231001918586564e1
_TP2 = -1.61468768441708447952e3
_TQ0 = 1.12811678491632931402e2
_TQ1 = 2.23548839060100448583e3
_TQ2 = 4.84406305325125486048e3
_LN2HI = 6.93147180369123816490e-01
_LN2LO = 1.90821492927058770002e-10
_INVLN2 = 1.44269504088896338700e00
_E1 = 1.66666666666666019037e-01
_E2 = -2.77777777770155933842e-03
_E3 = 6.61375632143793436117e-05
_E4 = -1.65339022054652515390e-06
_E5 = 4.13813679705723846039e-08


@numba.njit(inline="always")
def _tanh(x: float) -> float:  # pragma: no cover
    """tanh x without branches or calls (vectorisable); absolute error about 2e-16, like libm's."""
    ax = abs(x)
    ax = ax if ax < 22.0 else 22.0  # tanh(22) = 1 in double precision
    z = ax * ax
    small = ax + ax * (z * ((_TP0 * z + _TP1) * z + _TP2) / (((z + _TQ0) * z + _TQ1) * z + _TQ2))
    y = 2.0 * ax  # exp(y) = 2**k exp(r), |r| <= ln2 / 2, k in [0, 63]
    k = (y * _INVLN2 + _MAGIC) - _MAGIC
    hi = y - k * _LN2HI
    lo = k * _LN2LO
    r = hi - lo
    t = r * r
    c = r - t * (_E1 + t * (_E2 + t * (_E3 + t * (_E4 + t * _E5))))
    scale = 1.0  # 2**k, exactly, from the bits of k
    scale = scale * 4294967296.0 if k >= 32.0 else scale
    k = k - 32.0 if k >= 32.0 else k
    scale = scale * 65536.0 if k >= 16.0 else scale
    k = k - 16.0 if k >= 16.0 else k
    scale = scale * 256.0 if k >= 8.0 else scale
    k = k - 8.0 if k >= 8.0 else k
    scale = scale * 16.0 if k >= 4.0 else scale
    k = k - 4.0 if k >= 4.0 else k
    scale = scale * 4.0 if k >= 2.0 else scale
    k = k - 2.0 if k >= 2.0 else k
    scale = scale * 2.0 if k >= 1.0 else scale
    e = (1.0 - ((lo - (r * c) / (2.0 - c)) - hi)) * scale
    large = 1.0 - 2.0 / (e + 1.0)
    v = small if ax < 0.625 else large
    v = math.copysign(v, x)
    return v if x == x else x  # NaN stays NaN


@numba.njit(cache=True, nogil=True, error_model="numpy")
def tanh_array(x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """``out[i] = tanh x[i]`` with the kernels' tanh (for tests)."""
    for i in range(x.shape[0]):
        out[i] = _tanh(x[i])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def sincos_array(x: np.ndarray, s: np.ndarray, c: np.ndarray) -> None:  # pragma: no cover
    """``s[i], c[i] = sin x[i], cos x[i]`` with the kernels' sine and cosine (for tests)."""
    for i in range(x.shape[0]):
        s[i], c[i] = _sincos(x[i])
    for i in range(x.shape[0]):
        if not abs(x[i]) < _LIM:
            s[i], c[i] = _sincos1(x[i])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _trig(phases, weights, half_m, trig, wmod):  # pragma: no cover
    """trig[2 l], trig[2 l + 1] = cos Phi_l, sin Phi_l and wmod[l] = A_l (1 - (m/2)(1 + sin Phi_l))."""
    for lnk in range(phases.shape[0]):
        s, c = _sincos(phases[lnk])
        trig[2 * lnk] = c
        trig[2 * lnk + 1] = s
        wmod[lnk] = weights[lnk] * (1.0 - half_m * (1.0 + s))
    for lnk in range(phases.shape[0]):
        if not abs(phases[lnk]) < _LIM:
            s, c = _sincos1(phases[lnk])
            trig[2 * lnk] = c
            trig[2 * lnk + 1] = s
            wmod[lnk] = weights[lnk] * (1.0 - half_m * (1.0 + s))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _order(trig, n_links):  # pragma: no cover
    """(R, <Phi>) from trig (cos, sin interleaved); four interleaved partial sums of each, then the rest."""
    c0 = c1 = c2 = c3 = 0.0
    s0 = s1 = s2 = s3 = 0.0
    full = n_links - n_links % 4
    for base in range(0, 2 * full, 8):
        c0 += trig[base]
        s0 += trig[base + 1]
        c1 += trig[base + 2]
        s1 += trig[base + 3]
        c2 += trig[base + 4]
        s2 += trig[base + 5]
        c3 += trig[base + 6]
        s3 += trig[base + 7]
    c = (c0 + c1) + (c2 + c3)
    s = (s0 + s1) + (s2 + s3)
    for lnk in range(full, n_links):
        c += trig[2 * lnk]
        s += trig[2 * lnk + 1]
    c /= n_links
    s /= n_links
    return math.hypot(c, s), math.atan2(s, c)


# --- nodes (equation 2) ---


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _nodes(indptr, indices, wmod, w_in, leak, bias, nodes, u, pre, out):  # pragma: no cover
    """out = n(t+1) from nodes = n(t), wmod = A o M(Phi(t)) and the input u(t); ``pre`` is scratch."""
    d = u.shape[0]
    for i in range(nodes.shape[0]):
        acc = 0.0
        for lnk in range(indptr[i], indptr[i + 1]):
            acc += wmod[lnk] * nodes[indices[lnk]]
        inp = 0.0
        for k in range(d):
            inp += w_in[i, k] * u[k]
        pre[i] = acc + inp + bias
    for i in range(nodes.shape[0]):  # vectorised
        out[i] = leak * nodes[i] + (1.0 - leak) * _tanh(pre[i])


# --- links: the neighbours' field (equation 3), the gain (4), the new phases (5) and their trig ---


@numba.njit(inline="always")
def _new_phase(c, s, co, so, gain, phase, omega, cg, sg, tau):  # pragma: no cover
    """Phi_l(t+1) from the field (c, s), (cos, sin) Phi_l(t) = (co, so) and the gain; sin(Psi - Phi + gamma)
    is formed from the field's unit vector (no atan2); Psi = atan2(0, 0) = 0 for a zero field."""
    nrm = math.sqrt(c * c + s * s)
    cpsi = c / nrm if nrm > 0.0 else 1.0
    spsi = s / nrm if nrm > 0.0 else 0.0
    sd = spsi * co - cpsi * so  # sin(Psi - Phi)
    cd = cpsi * co + spsi * so  # cos(Psi - Phi)
    return phase + tau * (omega + gain * (sd * cg + cd * sg))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _phase_block(
    lo, hi, omega, weights, cg, sg, tau, half_m, phases, trig, trig_new, field, gain, wmod, out
):  # pragma: no cover
    """Elementwise (vectorised) part of :func:`_links_range`; returns how many links need the fix-up."""
    # views from 0: indices known non-negative, so no wraparound selects block the vectoriser
    omega = omega[lo:hi]
    weights = weights[lo:hi]
    phases = phases[lo:hi]
    trig = trig[2 * lo : 2 * hi]
    trig_new = trig_new[2 * lo : 2 * hi]
    field = field[2 * lo : 2 * hi]
    gain = gain[lo:hi]
    wmod = wmod[lo:hi]
    out = out[lo:hi]
    bad = 0
    for j in range(hi - lo):
        c = field[2 * j]
        s = field[2 * j + 1]
        new = _new_phase(c, s, trig[2 * j], trig[2 * j + 1], gain[j], phases[j], omega[j], cg, sg, tau)
        out[j] = new
        sn, cn = _sincos(new)
        trig_new[2 * j] = cn
        trig_new[2 * j + 1] = sn
        wmod[j] = weights[j] * (1.0 - half_m * (1.0 + sn))
        nrm2 = c * c + s * s
        huge = 0 if abs(new) < _LIM else 1  # also NaN
        tiny = 1 if (nrm2 < _TINY) & ((c != 0.0) | (s != 0.0)) else 0  # may have underflowed
        bad += huge + tiny
    return bad


@numba.njit(inline="always")
def _links_range(lo, hi, g, f, nodes, phases, trig, trig_new, field, gain, wmod, out):  # pragma: no cover
    """Links [lo, hi) from step t to t + 1; reads ``trig`` (all links), writes only rows [lo, hi) of
    ``trig_new``, ``field``, ``gain``, ``wmod``, ``out``. Returns how many need :func:`_links_fixup`.

    ``g`` = (phi_indptr, phi_indices, indices, link_target, omega, weights) and
    ``f`` = (eps1, eps2, cos gamma, sin gamma, tau, m / 2)."""
    phi_indptr, phi_indices, indices, link_target, omega, weights = g
    eps1, eps2, cg, sg, tau, half_m = f
    for lnk in range(lo, hi):  # the hot loop: nnz(A_Phi) gathers, each link's sum in CSR order
        c = 0.0
        s = 0.0
        for q in range(phi_indptr[lnk], phi_indptr[lnk + 1]):
            k = phi_indices[q]
            c += trig[2 * k]
            s += trig[2 * k + 1]
        field[2 * lnk] = c
        field[2 * lnk + 1] = s
        a = 0.5 * (nodes[indices[lnk]] + 1.0)
        b = 0.5 * (nodes[link_target[lnk]] + 1.0)
        gain[lnk] = eps1 + eps2 * 0.5 * (a + b)
    return _phase_block(
        lo, hi, omega, weights, cg, sg, tau, half_m, phases, trig, trig_new, field, gain, wmod, out
    )


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _links_fixup(g, f, phases, trig, trig_new, field, gain, wmod, out):  # pragma: no cover
    """Scalar redo of the rare links whose field may have underflowed or whose new phase needs libm."""
    omega, weights = g[4], g[5]
    cg, sg, tau, half_m = f[2], f[3], f[4], f[5]
    for lnk in range(out.shape[0]):
        c = field[2 * lnk]
        s = field[2 * lnk + 1]
        nrm2 = c * c + s * s
        tiny = nrm2 < _TINY and (c != 0.0 or s != 0.0)
        if not tiny and abs(out[lnk]) < _LIM:
            continue
        new = out[lnk]
        if tiny:  # an exact power-of-two rescaling keeps the direction
            c *= _UNDERFLOW_SCALE
            s *= _UNDERFLOW_SCALE
            co = trig[2 * lnk]
            so = trig[2 * lnk + 1]
            new = _new_phase(c, s, co, so, gain[lnk], phases[lnk], omega[lnk], cg, sg, tau)
            out[lnk] = new
        sn, cn = _sincos1(new)
        trig_new[2 * lnk] = cn
        trig_new[2 * lnk + 1] = sn
        wmod[lnk] = weights[lnk] * (1.0 - half_m * (1.0 + sn))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _links_serial(g, f, nodes, phases, trig, trig_new, field, gain, wmod, out):  # pragma: no cover
    n = out.shape[0]
    bad = 0
    for b in range((n + _BLOCK - 1) // _BLOCK):  # blocks keep each block's field in L1
        lo = b * _BLOCK
        hi = min(n, lo + _BLOCK)
        bad += _links_range(lo, hi, g, f, nodes, phases, trig, trig_new, field, gain, wmod, out)
    if bad:
        _links_fixup(g, f, phases, trig, trig_new, field, gain, wmod, out)


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _links_parallel(g, f, nodes, phases, trig, trig_new, field, gain, wmod, out):  # pragma: no cover
    n = out.shape[0]
    bad = 0
    for b in numba.prange((n + _BLOCK - 1) // _BLOCK):  # blocks are independent: same values as serial
        lo = b * _BLOCK
        hi = min(n, lo + _BLOCK)
        bad += _links_range(lo, hi, g, f, nodes, phases, trig, trig_new, field, gain, wmod, out)
    if bad:
        _links_fixup(g, f, phases, trig, trig_new, field, gain, wmod, out)


# --- whole runs ---


@numba.njit(cache=True, nogil=True, error_model="numpy")
def drive_loop(
    indptr,
    indices,
    weights,
    link_target,
    phi_indptr,
    phi_indices,
    w_in,
    omega,
    leak,
    bias,
    m,
    eps1,
    eps2,
    gamma,
    tau,
    nodes0,
    phases0,
    inputs,
    nodes_out,
    sync_out,
    mphase_out,
    record_nodes,
    evolve_phases,
    parallel,
):  # pragma: no cover
    """Teacher-forced run over ``inputs``; fills the records, returns the final (nodes, phases)."""
    n_links = phases0.shape[0]
    nodes = nodes0.copy()
    phases = phases0.copy()
    new_nodes = np.empty_like(nodes)
    pre = np.empty_like(nodes)
    new_phases = np.empty_like(phases)
    trig = np.empty(2 * n_links)
    trig_new = np.empty(2 * n_links)
    wmod = np.empty(n_links)
    field = np.empty(2 * n_links)
    gain = np.empty(n_links)
    half_m = 0.5 * m
    g = (phi_indptr, phi_indices, indices, link_target, omega, weights)
    f = (eps1, eps2, math.cos(gamma), math.sin(gamma), tau, half_m)
    _trig(phases, weights, half_m, trig, wmod)
    r, mp = _order(trig, n_links)
    for t in range(inputs.shape[0]):
        _nodes(indptr, indices, wmod, w_in, leak, bias, nodes, inputs[t], pre, new_nodes)
        nodes, new_nodes = new_nodes, nodes
        if record_nodes:
            nodes_out[t] = nodes
        if evolve_phases:
            if parallel:
                _links_parallel(g, f, nodes, phases, trig, trig_new, field, gain, wmod, new_phases)
            else:
                _links_serial(g, f, nodes, phases, trig, trig_new, field, gain, wmod, new_phases)
            phases, new_phases = new_phases, phases
            trig, trig_new = trig_new, trig
            r, mp = _order(trig, n_links)
        sync_out[t] = r
        mphase_out[t] = mp
    return nodes, phases


@numba.njit(cache=True, nogil=True, error_model="numpy")
def closed_loop_loop(
    indptr,
    indices,
    weights,
    link_target,
    phi_indptr,
    phi_indices,
    w_in,
    omega,
    leak,
    bias,
    m,
    eps1,
    eps2,
    gamma,
    tau,
    nodes0,
    phases0,
    w_out,
    n_steps,
    phase_mode,
    target,
    rotation,
    box_low,
    box_high,
    outputs,
    sync_out,
    mphase_out,
    parallel,
):  # pragma: no cover
    """Closed loop ``u = W_out n``; returns (nodes, phases, n_done, diverged, frozen_at)."""
    n_links = phases0.shape[0]
    d = w_out.shape[0]
    n = nodes0.shape[0]
    nodes = nodes0.copy()
    phases = phases0.copy()
    new_nodes = np.empty_like(nodes)
    pre = np.empty_like(nodes)
    new_phases = np.empty_like(phases)
    trig = np.empty(2 * n_links)
    trig_new = np.empty(2 * n_links)
    wmod = np.empty(n_links)
    field = np.empty(2 * n_links)
    gain = np.empty(n_links)
    u = np.empty(d)
    y = np.empty(d)
    half_m = 0.5 * m
    g = (phi_indptr, phi_indices, indices, link_target, omega, weights)
    f = (eps1, eps2, math.cos(gamma), math.sin(gamma), tau, half_m)
    mode = phase_mode
    frozen_at = -1
    two_pi = 2.0 * math.pi
    _trig(phases, weights, half_m, trig, wmod)
    r, mp = _order(trig, n_links)
    for t in range(n_steps):
        evolved = mode != 2  # checked before this step's rotation may freeze the phases
        for k in range(d):
            acc = 0.0
            for i in range(n):
                acc += w_out[k, i] * nodes[i]
            u[k] = acc
        _nodes(indptr, indices, wmod, w_in, leak, bias, nodes, u, pre, new_nodes)
        if mode == 0:
            if parallel:
                _links_parallel(g, f, new_nodes, phases, trig, trig_new, field, gain, wmod, new_phases)
            else:
                _links_serial(g, f, new_nodes, phases, trig, trig_new, field, gain, wmod, new_phases)
        elif mode == 1:
            gap = (target - mp) % two_pi
            if gap > two_pi - 1e-12:
                gap = 0.0
            inc = rotation
            if gap <= rotation:
                inc = gap
                mode = 2
                frozen_at = t
            for lnk in range(n_links):
                new_phases[lnk] = phases[lnk] + inc
            _trig(new_phases, weights, half_m, trig_new, wmod)
        ok = True
        for k in range(d):
            acc = 0.0
            for i in range(n):
                acc += w_out[k, i] * new_nodes[i]
            y[k] = acc
            if not (math.isfinite(acc) and acc >= box_low[k] and acc <= box_high[k]):
                ok = False
        if not ok:  # the state after the last completed step
            return nodes, phases, t, True, frozen_at
        if evolved:
            phases, new_phases = new_phases, phases
            trig, trig_new = trig_new, trig
            r, mp = _order(trig, n_links)
        # frozen: phases, their trig, R and <Phi> stay as they are
        nodes, new_nodes = new_nodes, nodes
        outputs[t] = y
        sync_out[t] = r
        mphase_out[t] = mp
    return nodes, phases, n_steps, False, frozen_at
