"""Tree-sitter queries that find definitions and references, one small pair per language.

Kept together so a grammar change is fixed in one place. Definition captures are named
`name.<kind>` and capture the *name* node; the tags code reads the signature from the name's
line and promotes a function nested in a class-like node to a method. Reference queries capture
every identifier-like node; definition names are removed from them afterwards.
"""

from __future__ import annotations

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".rb": "ruby",
}
"""File extension -> tree-sitter-language-pack language name."""

_JS_COMMON = """
(function_declaration name: (identifier) @name.function)
(generator_function_declaration name: (identifier) @name.function)
(method_definition name: (property_identifier) @name.method)
(variable_declarator name: (identifier) @name.function value: [(arrow_function) (function_expression)])
"""

_TS = _JS_COMMON + """
(class_declaration name: (type_identifier) @name.class)
(abstract_class_declaration name: (type_identifier) @name.class)
(interface_declaration name: (type_identifier) @name.interface)
(type_alias_declaration name: (type_identifier) @name.type)
(enum_declaration name: (identifier) @name.enum)
"""

_C = """
(function_definition declarator: (function_declarator declarator: (identifier) @name.function))
(function_definition declarator: (pointer_declarator
  declarator: (function_declarator declarator: (identifier) @name.function)))
(struct_specifier name: (type_identifier) @name.struct body: (field_declaration_list))
(union_specifier name: (type_identifier) @name.union body: (field_declaration_list))
(enum_specifier name: (type_identifier) @name.enum body: (enumerator_list))
(type_definition declarator: (type_identifier) @name.type)
(preproc_function_def name: (identifier) @name.macro)
"""

DEFINITIONS: dict[str, str] = {
    "python": """
(class_definition name: (identifier) @name.class)
(function_definition name: (identifier) @name.function)
""",
    "javascript": _JS_COMMON + "(class_declaration name: (identifier) @name.class)\n",
    "typescript": _TS,
    "tsx": _TS,
    "go": """
(function_declaration name: (identifier) @name.function)
(method_declaration name: (field_identifier) @name.method)
(type_spec name: (type_identifier) @name.struct type: (struct_type))
(type_spec name: (type_identifier) @name.interface type: (interface_type))
(type_spec name: (type_identifier) @name.type)
""",
    "rust": """
(function_item name: (identifier) @name.function)
(struct_item name: (type_identifier) @name.struct)
(enum_item name: (type_identifier) @name.enum)
(union_item name: (type_identifier) @name.union)
(trait_item name: (type_identifier) @name.trait)
(type_item name: (type_identifier) @name.type)
(mod_item name: (identifier) @name.module)
(macro_definition name: (identifier) @name.macro)
""",
    "java": """
(class_declaration name: (identifier) @name.class)
(interface_declaration name: (identifier) @name.interface)
(enum_declaration name: (identifier) @name.enum)
(record_declaration name: (identifier) @name.class)
(method_declaration name: (identifier) @name.method)
(constructor_declaration name: (identifier) @name.method)
""",
    "c": _C,
    "cpp": _C + """
(class_specifier name: (type_identifier) @name.class body: (field_declaration_list))
(function_definition declarator: (function_declarator
  declarator: (qualified_identifier name: (identifier) @name.method)))
(function_definition declarator: (function_declarator declarator: (field_identifier) @name.method))
(namespace_definition name: (namespace_identifier) @name.module)
""",
    "ruby": """
(class name: (constant) @name.class)
(class name: (scope_resolution name: (constant) @name.class))
(module name: (constant) @name.module)
(method name: (_) @name.function)
(singleton_method name: (_) @name.method)
""",
}

_IDS = "(identifier) @ref\n"
REFERENCES: dict[str, str] = {
    "python": _IDS,
    "javascript": _IDS + "(property_identifier) @ref\n",
    "typescript": _IDS + "(property_identifier) @ref\n(type_identifier) @ref\n",
    "tsx": _IDS + "(property_identifier) @ref\n(type_identifier) @ref\n",
    "go": _IDS + "(type_identifier) @ref\n(field_identifier) @ref\n",
    "rust": _IDS + "(type_identifier) @ref\n(field_identifier) @ref\n",
    "java": _IDS + "(type_identifier) @ref\n",
    "c": _IDS + "(type_identifier) @ref\n(field_identifier) @ref\n",
    "cpp": _IDS + "(type_identifier) @ref\n(field_identifier) @ref\n(namespace_identifier) @ref\n",
    "ruby": _IDS + "(constant) @ref\n",
}

CLASS_NODES = frozenset({
    "class_definition", "class_declaration", "abstract_class_declaration", "interface_declaration",
    "enum_declaration", "record_declaration", "class_specifier", "struct_specifier", "impl_item",
    "trait_item", "class", "module", "singleton_class",
})
"""Node types whose nested functions are methods."""

FUNCTION_NODES = frozenset({
    "function_definition", "function_declaration", "function_item", "method_definition",
    "method_declaration", "method", "singleton_method", "arrow_function", "function_expression",
    "constructor_declaration",
})
"""Node types that stop the search for an enclosing class: a function nested in a function is a function."""

GENERIC_KINDS = frozenset({"type", "function"})
"""Kinds a more specific capture of the same name node (struct, interface, method) replaces."""
