"""Stabilisers that extend the train step: each a small pure function over arrays or states.

  instance_noise:   Gaussian noise on every D input, annealed (Sonderby et al., 2017).
  replay:           a buffer of past fakes mixed into D's batches (Shrivastava et al., 2017).
  averaging:        EMA of G's weights (Karras et al., 2018; Yazici et al., 2019) and the
                    historical-averaging penalty (Salimans et al., 2016).
  feature_matching: G matches D's feature statistics of real data (Salimans et al., 2016).
  constraints:      WGAN weight clipping (Arjovsky et al., 2017).

Losses, input-gradient penalties, minibatch layers and spectral norm live in jaxgan.losses,
jaxgan.penalties and jaxgan.models.layers; the step that combines everything is jaxgan.steps.
"""
