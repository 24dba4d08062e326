"""`warmline web`: the pages clerks upload their workbooks through, and the statistician's pages.

A clerk reaches the unit's pages through the unit's own link (a secret token, made and revoked with `warmline web
token`); an upload lands in the inbox exactly as a dropped file does, and the page shows what became of it as soon
as the service has read it. The application is Starlette with Jinja2 templates, served by uvicorn on 127.0.0.1.
"""
