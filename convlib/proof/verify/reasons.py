"""The classes of the verification matrix: the causes understood so far, and the classifier.

:data:`REASONS` pairs a pattern with the cause it stands for; :func:`classify` puts one
checked configuration in exactly one class (``agree``, ``refused`` or ``disagree``) and
names its reason. A refusal or disagreement that matches no pattern is ``UNEXPLAINED``.
"""

from __future__ import annotations

import re

__all__ = ["API_LIMITS", "REASONS", "classify"]

ONEDNN_ABORT = "oneDNN cannot build the primitive and aborts instead of raising a clean error"
SIGFPE = "TF max pooling (max_pool2d; pool if dilated) dies of SIGFPE: window wider than the input"
CRASHES = (ONEDNN_ABORT, SIGFPE)  # a framework that crashed instead of refusing by a rule

# What a framework's API cannot take at all (not an undefined request): where convlib refuses the
# request for a reason of its own, such a framework is named apart from those that refuse it.
API_LIMITS = (
    "PyTorch's API cannot express it: pooling takes one symmetric pad per axis",
    "tf.nn pooling has no ceil_mode or dilation argument",
    "tf.nn.avg_pool2d has no count_include_pad=False for explicit pads",
    "Keras Conv2DTranspose has no numeric padding and no groups",
    "Keras Conv2DTranspose: no stride > 1 with dilation > 1",
    "TF's own CPU Conv2DBackpropInput (conv2d_transpose, conv2d's input gradient), which runs "
    "float64 and numeric pads, takes no dilation > 1",
    "TF's own CPU Conv2DBackpropInput (conv2d_transpose, conv2d's input gradient), which runs "
    "float64 and numeric pads, takes no groups",
)

REASONS = [
    (r"TensorFlow: killed by signal", SIGFPE),
    (
        r"TensorFlow: returns the input's shape",
        "tf.nn.conv2d returns a tensor of its (padded) input's shape where no window fits, "
        "instead of refusing",
    ),
    (
        r"TensorFlow: DIFFER batched-column",
        "TF oneDNN defect: batch > 1, one output column, width stride > 1 (right one example at a time)",
    ),
    (
        r"convlib: pool_size .* with ceil_mode overhangs the padded input (height|width)",
        "ceil_mode window overhanging more than the whole input: convlib refuses",
    ),
    (
        r"PyTorch: (returns the input's shape \(ceil_mode\)|keeps a ceil_mode overhang)",
        "PyTorch keeps a ceil_mode window larger than the whole input when it overhangs by fewer "
        "than stride cells; convlib refuses an overhang larger than the padded input",
    ),
    (
        r"TensorFlow: gather wraps more than once",
        "TF has no circular padding; the cross-check's tf.gather emulation wraps more than once "
        "where PyTorch and convlib refuse",
    ),
    (
        r"TensorFlow: returns an empty",
        "TensorFlow (float64 conv2d and its gradient, which have no oneDNN kernel; average pooling; "
        "max pooling at stride 1 where the other axis has a window) returns an empty tensor where "
        "floor((P - K) / s) + 1 <= 0 (PyTorch and convlib refuse)",
    ),
    (
        r"PyTorch: returns an empty",
        "PyTorch returns an empty tensor where the transposed output size is not positive (convlib "
        "refuses): float32 conv_transpose2d on some kernel paths at size 0 (others raise, as all do "
        "below 0), or the cross-check's crop for asymmetric pads",
    ),
    (
        r"(TensorFlow|Keras): .*(could not create a (primitive )?descriptor|Operation received an exception)",
        ONEDNN_ABORT,
    ),
    (
        r"convlib: .*larger than the padded input",
        "no window fits: the (dilated) kernel is larger than the padded input",
    ),
    (r"convlib: .*needs padding <=", "reflect/circular padding wider than the input allows"),
    (
        r"convlib: .*at most half the (effective window|pool size)",
        "pool padding over half the window (PyTorch's rule)",
    ),
    (
        r"PyTorch: answers ceil_mode with the 'same' pads",
        "ceil_mode with TF's 'same' is ambiguous and convlib refuses; PyTorch, given the 'same' pads "
        "as numbers, answers",
    ),
    (
        r"convlib: ceil_mode=True cannot be combined",
        "ceil_mode with TF's 'same' (which already rounds up) is ambiguous",
    ),
    (r"convlib: output_padding must be smaller", "output_padding >= max(stride, dilation) (PyTorch's rule)"),
    (r"convlib: .*output size -?\d+ is not positive", "transposed output size not positive"),
    (r"convlib: padding='same' with output_padding", "output_padding contradicts 'same' (convlib's rule)"),
    (r"TensorFlow: tf.nn pooling has no", API_LIMITS[1]),
    (
        r"TensorFlow: tf.nn.avg_pool2d cannot",
        API_LIMITS[2],
    ),
    (
        r"PyTorch: .*(symmetric padding only|must be tuple of ints)",
        API_LIMITS[0],
    ),
    (
        r"PyTorch: .*pad should be (at most|smaller than or equal to) half",
        "PyTorch pooling: pad at most half the window",
    ),
    (
        r"Keras: .*only 'valid'/'same' padding and groups",
        API_LIMITS[3],
    ),
    (
        r"Keras: .*output_padding. must be strictly less",
        "Keras: output_padding < stride (PyTorch: < max(stride, dilation))",
    ),
    (
        r"Keras: .*strides > 1. not supported in conjunction",
        API_LIMITS[4],
    ),
    (
        r"TensorFlow: .*do not yet support dilation rates",
        API_LIMITS[5],
    ),
    (
        r"TensorFlow: .*Gradients for grouped convolutions",
        API_LIMITS[6],
    ),
]


def _reason(text: str) -> str:
    text = re.sub(r": \w+Error: ", ": ", text, count=1)  # match on the message, not the type
    masked = re.sub(r"\d+", "#", text)[:120]  # digits masked: one class per cause, not per size
    unknown = f"UNEXPLAINED ({masked})"
    return next((r for pat, r in REASONS if re.search(pat, text)), unknown)


def _tf_column_defect(case, r) -> bool:
    """Confirm the oneDNN batched one-column defect: every example alone agrees."""
    from ..crosscheck import crosscheck_conv2d

    x, w = case.arrays()
    if case.op != "conv2d" or x.shape[0] < 2:
        return False
    return all(crosscheck_conv2d(x[i : i + 1], w, **case.kwargs).agree for i in range(x.shape[0]))


def _inputs_seen(case, r, fmt):
    """The input's (H, W), and the padded one the framework saw where the harness padded first."""
    h, w = _spatial(case.x_shape, fmt)
    (t, b), (lf, rt) = r.pads or ((0, 0), (0, 0))
    return [(h, w), (h + t + b, w + lf + rt)]


def _spatial(shape, fmt):
    return tuple(shape[-3:-1]) if fmt == "NHWC" else tuple(shape[-2:])


def classify(case, reports: dict) -> dict:
    """Put one case in exactly one class: ``agree``, ``refused`` or ``disagree``, with the reason.

    Returns ``{"kind", "who", "reason", "max_diff", "errors"}``; ``who`` names the frameworks
    that refused or disagreed (``+`` joined), ``errors`` their first message lines.
    """
    errors, bad, diffs = {}, [], []
    for r in reports.values():
        for o in (r.reference, *r.others):
            if o.refused and "refused before reaching" not in o.error:
                errors.setdefault(o.framework, o.error)
            v = "-" if o is r.reference else r.verdict(o)
            if v in ("DIFFER", "SHAPE DIFFERS") or (v == "convlib refused" and not o.refused):
                bad.append((o, v, r))
                diffs.append(o.max_diff)
    if bad:
        o, v, r = bad[0]
        fmt, mode = case.kwargs.get("data_format", "NHWC"), case.kwargs.get("padding_mode", "zeros")
        overhang = "with ceil_mode overhangs" in (r.reference.error or "")
        if v == "convlib refused" and mode == "circular" and o.framework == "TensorFlow":
            text = "TensorFlow: gather wraps more than once"
        elif v == "convlib refused" and overhang and o.framework == "PyTorch":
            text = "PyTorch: keeps a ceil_mode overhang"  # whatever the other axis gives
        elif v == "convlib refused" and "ceil_mode=True cannot be combined" in (r.reference.error or ""):
            text = f"{o.framework}: answers ceil_mode with the 'same' pads"
        elif v == "convlib refused" and _spatial(o.shape, fmt) in _inputs_seen(case, r, fmt):
            pooled = case.op.endswith("pool2d") and case.kwargs.get("ceil_mode")
            text = f"{o.framework}: returns the input's shape" + (" (ceil_mode)" if pooled else "")
        elif v == "convlib refused" and o.shape and 0 in o.shape:
            text = f"{o.framework}: returns an empty tensor {o.shape}"
        elif v == "DIFFER" and o.framework == "TensorFlow" and _tf_column_defect(case, r):
            text = "TensorFlow: DIFFER batched-column"
        else:
            text = f"{o.framework}: {v} in {next(p for p, rr in reports.items() if rr is r)}"
        who = "+".join(sorted({b[0].framework for b in bad}))
        md = max((d for d in diffs if d is not None), default=None)
        return dict(kind="disagree", who=who, reason=_reason(text), max_diff=md, errors=errors)
    if errors:
        # Where convlib refuses, its reason names the class (the others' messages are kept in
        # `errors`), plus the reason of any framework that did not refuse by a rule: one that
        # crashed (an abort or a signal is never labelled with a rule) or whose API cannot take
        # the request at all. Such a framework is left out of `who`: it did not refuse an undefined
        # request. Where convlib runs the request, each framework's reason, in order.
        why = {n: _reason(f"{n}: {e}") for n, e in errors.items()}
        cannot = {n for n in errors if "convlib" in errors and why[n] in API_LIMITS}
        if "convlib" in errors:
            names = ["convlib", *(n for n in sorted(errors) if why[n] in CRASHES + API_LIMITS)]
        else:
            names = sorted(errors)
        reason = "; ".join(dict.fromkeys(why[name] for name in names))
        who = "+".join(sorted(set(errors) - cannot))
        return dict(kind="refused", who=who, reason=reason, max_diff=None, errors=errors)
    return dict(kind="agree", who="", reason="", max_diff=None, errors={})
