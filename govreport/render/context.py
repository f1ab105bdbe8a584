"""Import shim for ``render/validate.py`` only (it is being replaced by the typed loader).

Delete this file together with ``render/validate.py``; everything else imports
:mod:`govreport.render.errors` and :mod:`govreport.render.report`.
"""

from govreport.render.errors import SCHEMA_VERSION, ResultsError

__all__ = ["SCHEMA_VERSION", "ResultsError"]
