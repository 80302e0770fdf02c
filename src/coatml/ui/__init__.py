"""The lab web page (`coatml ui`): a Streamlit app over one workspace.

Every page calls the same library functions as the CLI (validation and store, rank, propose,
campaigns, registry); the page itself holds no modelling logic. Needs the ``ui`` extra.
"""
