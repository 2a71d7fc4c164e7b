from django.contrib import admin

from chat.models import Chat, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ["title", "admin"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["chat", "user", "joined_at"]
