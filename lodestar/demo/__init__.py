"""The bundled demo company: a deterministic generator of a Chinese B2B cleaning-consumables maker.

`lodestar.demo.generator.generate()` writes its system drops, documents, API data and ground truth;
`lodestar.demo.api.serve_demo_api()` serves the API data over local HTTP.
"""
