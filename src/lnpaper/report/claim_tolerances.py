"""The tolerances the claim rules on random matrices decide with (``claims_matrices``), one
name each: the Methods quote them through ``numbers_methods``, so a changed tolerance changes
the verdict and the sentence that states it together."""

# LayerNorm's track keeps its norm: relative deviation from theory below LN_NORM_REL_TOL (plus
# eps/c) and a growth rate below LN_RATE_TOL per step (or an interval around 0)
LN_NORM_REL_TOL = 1e-3
LN_RATE_TOL = 1e-4
# the article's (x - mu)/(sigma + eps) "agrees" with PyTorch below this largest abs difference
EPS_AGREE_TOL = 1e-3
# equal up to float64 rounding (our formula against torch's, r = 1 over the whole tensor)
ROUNDING_TOL = 1e-6
# "slightly" lower correlation: r stays above SLIGHT_R
SLIGHT_R = 0.95
# gamma and beta set the output's std and mean: within these of gamma and beta
AFFINE_MEAN_TOL = 1e-4
AFFINE_STD_TOL = 1e-2
# mean ~ 0 and std ~ 1 after LayerNorm: every group's mean below MEAN0_TOL, no std above 1 by
# more than that, and the median seed's std within STD1_TOL of 1
MEAN0_TOL = 1e-5
STD1_TOL = 0.01
