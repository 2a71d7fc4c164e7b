from django import forms
from django.contrib.auth import get_user_model

from chat.models import Chat


class AddMemberForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.none())

    def __init__(self, chat: Chat, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            get_user_model()
            .objects.exclude(pk=chat.admin_id)
            .exclude(chats=chat)
            .order_by("username")
        )
