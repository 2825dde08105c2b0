"""Smallest Solara app for the offline-assets browser test: a button and a counter.

Markdown is used on purpose: its front end pulls requirejs, katex and mermaid
through Solara's CDN proxy, so the test covers more than the app shell.
"""

import solara

clicks = solara.reactive(0)


@solara.component
def Page():
    solara.Button("Increment", on_click=lambda: clicks.set(clicks.value + 1))
    solara.Markdown(f"Count: {clicks.value}")
