"""One module per report section: ``build(results, num) -> (context, [FigureSpec])``.

Each builder reads the results through a few local variables at its top,
formats everything the template prints (numbers become strings here), numbers
its tables and figures through ``num`` (:class:`govreport.render.text.Numbering`)
in document order, and returns the mapping it adds to the report context with
the specs of the figures it captioned. The order of the sections, and so of
every number, is :data:`govreport.render.report.SECTIONS`.
"""
