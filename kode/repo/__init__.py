"""The workspace as code: tree-sitter tags (definitions and references), a ranked repo map.

Nothing here imports tree-sitter at module level; the first parse does. Entry points:
`kode.repo.repomap.build_repo_map` (the map), `kode.repo.tags.extract_tags` (one file).
"""
