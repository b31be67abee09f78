"""Test and benchmark helpers (not used by the nodes): analytic denoisers with closed-form x0 predictions
(``analytic``), reference schedules of SD1.x and rectified-flow models (``schedules``) and a memorising
shape world (``shape_world``)."""
