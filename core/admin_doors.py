"""What the Django admin answers when the domain refuses: a client error, as the pages and the API do.

The admin shows a refused form again with its errors; by default with 200 OK. A `ModelAdmin` that
takes `RefusalIsClientError` first answers 400 instead (the form, its errors and everything typed are
shown as before), so that a refusal looks the same at every door (tests/test_door_parity.py).
"""

from __future__ import annotations

from django.template.response import TemplateResponse


class RefusalIsClientError:
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        response = super().changeform_view(request, object_id, form_url, extra_context)
        refused = (
            request.method == "POST"
            and isinstance(response, TemplateResponse)
            and response.status_code == 200
            and "adminform" in (response.context_data or {})  # the form again, not a popup's answer
        )
        if refused:
            response.status_code = 400
        return response
