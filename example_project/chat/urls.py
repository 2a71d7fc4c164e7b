from django.urls import path

from chat.views import chats, inbox, reports

urlpatterns = [
    path("", chats.chat_list, name="chat-list"),
    path("chats/<int:pk>/", chats.chat_detail, name="chat-detail"),
    path("deliveries/", chats.delivery_log, name="delivery-log"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("reports/", reports.report, name="report"),
]
