"""govreport: exact validation reports for piecewise-linear (ReLU) networks.

Stages, each a module of pure functions: :mod:`govreport.inputs.model` and
:mod:`govreport.inputs.data` (load and check inputs), :mod:`govreport.regions`
(activation regions and exact local linear models), :mod:`govreport.analyses`,
:mod:`govreport.policy`, :mod:`govreport.render`; :mod:`govreport.pipeline`
joins them and :mod:`govreport.cli` is the command line.
"""

__version__ = "0.1.0"
