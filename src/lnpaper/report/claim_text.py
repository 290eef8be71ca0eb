"""Localized text of the claims table: the measured / theory / condition cells are composed from
the templates below (one per phrase, in Vietnamese and English), never typed as sentences in the
rules. A rule returns ``t(key, **values)``; ``render`` fills the template in the build's language.
Values: floats are formatted with ``formatting.fmt``, nested ``Text`` is rendered, lists are
joined with "; ", strings are passed through ``labels.label`` (names such as ``normal``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lnpaper.report.formatting import fmt
from lnpaper.report.labels import label

TEMPLATES: dict[str, dict[str, str]] = {
    "ci": {"vi": "{mean} [{lo}, {hi}]", "en": "{mean} [{lo}, {hi}]"},
    "join": {"vi": "{items}", "en": "{items}"},
    "and": {"vi": "{a}; {b}", "en": "{a}; {b}"},
    # matmul
    "scale_rate": {
        "vi": "{dist} s={scale}: {behaviour}, {ci}/bước",
        "en": "{dist} s={scale}: {behaviour}, {ci}/step",
    },
    "draw_set": {
        "vi": "{dist}, n={n} (một bộ rút: mọi hệ số tỉ lệ của nó nhân cùng các B_k, tốc độ chỉ "
        "khác nhau đúng ln s): {rates}",
        "en": "{dist}, n={n} (one draw set: all its scales multiply the same B_k, rates differ "
        "by exactly ln s): {rates}",
    },
    "rate_theory": {
        "vi": "{dist}: ln s + ln b + lambda_1(n) = {rate}/bước tại s={scale}",
        "en": "{dist}: ln s + ln b + lambda_1(n) = {rate}/step at s={scale}",
    },
    "dist_condition": {
        "vi": "B ~ {dists} (n={n})",
        "en": "B ~ {dists} (n={n})",
    },
    "critical_note": {
        "vi": "với phần tử N(0,1) tỉ lệ tới hạn là exp(-lambda_1(n)) = {s_star}, nên mọi s > {s_star} "
        "đều bùng nổ",
        "en": "with N(0,1) entries the critical scale is exp(-lambda_1(n)) = {s_star}, so every "
        "s > {s_star} explodes",
    },
    "straddle_note": {
        "vi": "khoảng tin cậy của {dists} chứa ngưỡng ±{tol}",
        "en": "the interval of {dists} straddles the threshold ±{tol}",
    },
    "ln_stable": {
        "vi": "|tốc độ| lớn nhất khi có LN {rate}/bước; ||LN(A_K)|| lệch tối đa {rel} (tương đối) "
        "so với sqrt(n*n) ở cả {count} điều kiện",
        "en": "max |growth rate| with LN {rate}/step; ||LN(A_K)|| within {rel} (relative) of "
        "sqrt(n*n) for all {count} conditions",
    },
    "ln_stable_theory": {
        "vi": "||LN(A)||_F = sqrt(rows*cols*v/(v+eps)) với mọi s, vì LN(sM) = LN(M)",
        "en": "||LN(A)||_F = sqrt(rows*cols*v/(v+eps)) for every s, since LN(sM) = LN(M)",
    },
    # layernorm statistics
    "mean_std": {
        "vi": "|mean nhóm| lớn nhất {mean}; std lệch (biased) khác 1 tối đa {dev} (trung vị theo "
        "seed {median}); std lớn nhất {top}",
        "en": "max |group mean| {mean}; biased std off 1 by at most {dev} (median over seeds "
        "{median}); largest std {top}",
    },
    "mean_std_theory": {
        "vi": "mean = 0 chính xác; std lệch = sqrt(v/(v+eps)) <= 1 cho mỗi nhóm",
        "en": "mean exactly 0; biased std sqrt(v/(v+eps)) <= 1 for each group",
    },
    "max_mean": {
        "vi": "|mean| lớn nhất trên mọi nhóm và seed {value}",
        "en": "max |mean| over all groups and seeds {value}",
    },
    "float_zero": {
        "vi": "0 tới độ chính xác float (|mean| < 1e-6)",
        "en": "0 to float precision (|mean| < 1e-6)",
    },
    "std_by_k": {
        "vi": "k={k}: lệch {biased}, không lệch {unbiased}",
        "en": "k={k}: biased {biased}, unbiased {unbiased}",
    },
    "unbiased_theory": {
        "vi": "std không lệch sqrt(k/(k-1)) = {value} tại k={k}",
        "en": "unbiased std sqrt(k/(k-1)) = {value} at k={k}",
    },
    "unbiased_condition": {
        "vi": "std là ước lượng không lệch của torch.std trên nhóm k={ks}; std lệch bằng 1",
        "en": "std is torch.std's unbiased estimator over groups of k={ks}; the biased std is 1",
    },
    "eps_measured": {
        "vi": "nn.LayerNorm = (x-mu)/sqrt(var+eps) tới {diff}; tại sigma={sigma}: std ra {torch} "
        "(PyTorch) so với {paper} (công thức của bài)",
        "en": "nn.LayerNorm = (x-mu)/sqrt(var+eps) to {diff}; at sigma={sigma}: output std "
        "{torch} (PyTorch) vs {paper} (the paper's formula)",
    },
    "eps_theory": {
        "vi": "sigma/sqrt(sigma^2+eps) so với sigma/(sigma+eps)",
        "en": "sigma/sqrt(sigma^2+eps) vs sigma/(sigma+eps)",
    },
    "eps_condition": {
        "vi": "sigma >= {sigma} (hai công thức khớp trong 1e-3); PyTorch đặt eps trong căn",
        "en": "sigma >= {sigma} (formulas agree within 1e-3); PyTorch puts eps inside the root",
    },
    "r_whole": {
        "vi": "|r - 1| lớn nhất {dev} trên {count} ma trận",
        "en": "max |r - 1| {dev} over {count} matrices",
    },
    "r_one": {
        "vi": "đúng bằng 1 (phép biến đổi affine)",
        "en": "exactly 1 (an affine map of the input)",
    },
    "r_column": {
        "vi": "{shape} theo cột (k={k}): r={r}",
        "en": "{shape} per column (k={k}): r={r}",
    },
    "r_theory_k": {"vi": "k={k}: {r}", "en": "k={k}: {r}"},
    "r_condition": {
        "vi": "nhóm từ k >= {k} phần tử (r > 0.95); r = sqrt(2/k)Gamma(k/2)/Gamma((k-1)/2)",
        "en": "groups of k >= {k} entries (r > 0.95); r = sqrt(2/k)Gamma(k/2)/Gamma((k-1)/2)",
    },
    "affine": {
        "vi": "mean {mean}, std lệch {biased}, std không lệch {unbiased} ({seeds} seed)",
        "en": "mean {mean}, biased std {biased}, unbiased std {unbiased} ({seeds} seeds)",
    },
    "affine_theory": {
        "vi": "mean = beta chính xác; std lệch = gamma*sqrt(v/(v+eps))",
        "en": "mean = beta exactly; biased std = gamma*sqrt(v/(v+eps))",
    },
    "precision_method": {
        "vi": "{method}: sai số lớn nhất {error}",
        "en": "{method}: max error {error}",
    },
    "precision": {
        "vi": "{methods} (float32, offset tới {offset}; ngưỡng {threshold})",
        "en": "{methods} (float32, offsets up to {offset}; threshold {threshold})",
    },
    "precision_theory": {"vi": "tham chiếu float64", "en": "float64 reference"},
    "precision_condition": {
        "vi": "phương sai được tính bằng {methods}; các cách khác ({bad}) vượt ngưỡng khi |mean| >> std",
        "en": "the variance is computed with {methods}; the others ({bad}) exceed the threshold "
        "once |mean| >> std",
    },
    # training
    "where": {"vi": "{dataset}/{arch}/độ sâu {depth}", "en": "{dataset}/{arch}/depth {depth}"},
    "only_in": {"vi": "chỉ ở: {where}", "en": "only in: {where}"},
    "undecided_in": {"vi": "chưa quyết được ở: {where}", "en": "undecided in: {where}"},
    "faster": {
        "vi": "{where}: LN nhanh hơn ở {k}/{n} seed (Wilson {lo}-{hi})",
        "en": "{where}: LN faster in {k}/{n} seeds (Wilson {lo}-{hi})",
    },
    "faster_theory": {
        "vi": "so sánh cặp theo seed (cùng khởi tạo, cùng batch): LN nhanh hơn nếu đạt ngưỡng loss "
        "còn bản không chuẩn hóa thì không, hoặc đạt sớm hơn; dấu-kiểm định, khoảng Wilson so với 1/2",
        "en": "paired per seed (same init and batches): LN is faster if it reaches the loss "
        "threshold and the unnormalized net does not, or reaches it in fewer steps; sign test, "
        "Wilson interval vs 1/2",
    },
    "oscillation": {
        "vi": "{where}: tỉ số LN/không {ratio} [{lo}, {hi}]",
        "en": "{where}: ratio LN/none {ratio} [{lo}, {hi}]",
    },
    "oscillation_theory": {
        "vi": "tỉ số cặp theo seed của SD bước-tới-bước của loss, trung bình nhân, khoảng bootstrap "
        "trên thang log so với 1",
        "en": "paired per-seed ratio of the SD of step-to-step loss changes, geometric mean, "
        "bootstrap interval on the log scale vs 1",
    },
    "no_training_pair": {
        "vi": "không có điều kiện nào mà cả mạng LN và mạng không chuẩn hóa đều học",
        "en": "no condition where both the LayerNorm and the unnormalized nets train",
    },
    "untestable": {
        "vi": "không kiểm được ở đây: thiếu điều kiện mà cả hai mạng đều học",
        "en": "not testable here: no condition where both nets train",
    },
    "both_train": {
        "vi": "chỉ so sánh nơi cả hai mạng đều học: {where}",
        "en": "compared only where both nets train: {where}",
    },
    "grad": {"vi": "{norm}/{arch}/d{depth}: {value}", "en": "{norm}/{arch}/d{depth}: {value}"},
    "grad_theory": {
        "vi": "trung vị chuẩn gradient lớp đầu lúc khởi tạo trong [{lo}, {hi}] (khởi tạo mặc định PyTorch)",
        "en": "median first-layer gradient norm at init inside [{lo}, {hi}] (PyTorch default init)",
    },
    "grad_condition": {
        "vi": "mạng không chuẩn hóa vốn có gradient biến mất/bùng nổ",
        "en": "the unnormalized net has vanishing/exploding gradients to begin with",
    },
    "grad_yet": {
        "vi": "nhưng mạng plain có LN độ sâu {depth} vẫn không học (độ chính xác {acc})",
        "en": "yet plain LN nets of depth {depth} still fail to train (accuracy {acc})",
    },
    "bn_spread": {
        "vi": "SD đầu ra BatchNorm (train): {sizes}; SD lớn nhất của LayerNorm/RMSNorm/GroupNorm {other}",
        "en": "BatchNorm (train) output SD: {sizes}; LayerNorm/RMSNorm/GroupNorm max SD {other}",
    },
    "bn_size": {"vi": "B={b}: {sd}", "en": "B={b}: {sd}"},
    "bn_theory": {
        "vi": "BN (train) chuẩn hóa bằng thống kê của batch (SD ~ 1/sqrt(B)); LN chỉ dùng đặc trưng "
        "của chính mẫu (SD đúng 0)",
        "en": "BN (train) normalizes with batch statistics (SD ~ 1/sqrt(B)); LN uses only the "
        "sample's own features (SD exactly 0)",
    },
    "online_item": {"vi": "{norm} ({mode}): {ok}", "en": "{norm} ({mode}): {ok}"},
    "works": {"vi": "chạy được", "en": "works"},
    "broken": {"vi": "không chạy được", "en": "fails"},
    "online_theory": {
        "vi": "chạy được = chạy ở B=1 và cho mẫu đúng đầu ra nó nhận được trong một batch",
        "en": "works = runs at B=1 and gives the sample the output it gets inside a batch",
    },
    "online_condition": {
        "vi": "BatchNorm ở chế độ train (thống kê batch); ở chế độ eval thống kê chạy của nó phục vụ "
        "được batch size 1",
        "en": "BatchNorm is in training mode (batch statistics); in eval mode its running "
        "statistics serve batch size 1",
    },
    # transformer
    "post_ln": {
        "vi": "{layers} lớp, Post-LN: loss cuối {cold} không warm-up, {warm} có warm-up (cơ hội "
        "{chance}); phân kỳ không warm-up {diverged}; grad FFN đỉnh/đáy lúc khởi tạo {ratio}",
        "en": "{layers} layers, Post-LN: final loss {cold} without warm-up, {warm} with (chance "
        "{chance}); diverged without warm-up {diverged}; FFN grad top/bottom at init {ratio}",
    },
    "post_vs_none": {
        "vi": "Post-LN trừ không chuẩn hóa ({warmup}): {diff}",
        "en": "Post-LN minus no normalization ({warmup}): {diff}",
    },
    "with_warmup": {"vi": "có warm-up", "en": "with warm-up"},
    "without_warmup": {"vi": "không warm-up", "en": "without warm-up"},
    "post_ln_theory": {
        "vi": "Xiong và cs. 2020: gradient Post-LN tăng về phía đỉnh lúc khởi tạo, cần warm-up; "
        "ổn định = loss cuối thấp hơn Transformer không chuẩn hóa (cặp theo seed) và dưới mức cơ "
        "hội ln(vocab)",
        "en": "Xiong et al. 2020: Post-LN gradients grow toward the top at init, warm-up needed; "
        "stabilises = lower final loss than the Transformer without normalization (paired per "
        "seed) and below chance ln(vocab)",
    },
    "warmup_condition": {
        "vi": "có warm-up tốc độ học (hoặc Pre-LN)",
        "en": "with learning-rate warm-up (or Pre-LN)",
    },
    "no_baseline": {
        "vi": "lần dựng này không có Transformer không chuẩn hóa để so sánh",
        "en": "this build has no Transformer without normalization to compare with",
    },
    "no_learning": {
        "vi": "Post-LN không học: loss cuối không thấp hơn rõ mức cơ hội",
        "en": "Post-LN does not learn: final loss not clearly below chance",
    },
}

VERDICT_WORDS = {
    "holds": {"vi": "đúng", "en": "holds"},
    "fails": {"vi": "sai", "en": "fails"},
    "holds_only_if": {"vi": "chỉ đúng nếu", "en": "holds only if"},
    "inconclusive": {"vi": "chưa kết luận", "en": "inconclusive"},
}


@dataclass(frozen=True)
class Text:
    """A template key and the values that fill it."""

    key: str
    values: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.key not in TEMPLATES:
            raise KeyError(f"no claim text template {self.key!r}")


def t(key: str, **values) -> Text:
    return Text(key, values)


def join(items, sep: str = "; ") -> Text:
    return Text("join", {"items": list(items), "_sep": sep})


def _value(v, language: str, sep: str = "; ") -> str:
    if isinstance(v, Text):
        return render(v, language)
    if isinstance(v, (list, tuple)):
        return sep.join(_value(x, language) for x in v)
    if isinstance(v, str):
        return label(v, language)
    return fmt(v)


def render(text: Text | None, language: str) -> str:
    """The template of ``text`` in ``language`` (English if missing), filled."""
    if text is None:
        return ""
    tmpl = TEMPLATES[text.key]
    sep = text.values.get("_sep", "; ")
    values = {k: _value(v, language, sep) for k, v in text.values.items() if k != "_sep"}
    return tmpl.get(language, tmpl["en"]).format(**values)


def verdict_word(verdict: str, language: str) -> str:
    """The verdict as the claims table shows it (labels.py), else the word above."""
    shown = label(verdict, language)
    if shown != verdict or language == "en":
        return shown
    words = VERDICT_WORDS[verdict]
    return words.get(language, words["en"])
