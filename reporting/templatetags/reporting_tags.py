from django import template

register = template.Library()


@register.simple_tag
def cell_field(form, cell, name):
    """The bound field of one cell of the values form (None: this cell has no such input)."""
    return form.bound(cell, name)
