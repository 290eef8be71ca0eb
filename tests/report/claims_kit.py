"""What the claim-rule tests share: the config they evaluate under and the lookup of one verdict
row in the claims table built from hand-made frames."""

from lnpaper.report import claims

CFG = {"scales": [0.5, 1.0, 2.0], "near_critical_tol": 0.02, "seed": 42}


def verdict(claim_id, frames, cfg=None):
    table = claims.evaluate_all(frames, cfg or CFG, "en")
    rows = table.set_index("claim_id")
    assert claim_id in rows.index, f"{claim_id} not evaluated"
    return rows.loc[claim_id]
