CREATE TABLE "mailbox_imap_settings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"mailbox_id" uuid NOT NULL,
	"host" text NOT NULL,
	"port" integer NOT NULL,
	"tls" text NOT NULL,
	"username" text NOT NULL,
	"auth" text NOT NULL,
	"password_sealed" text,
	"token_url" text,
	"client_id" text,
	"client_secret_sealed" text,
	"refresh_token_sealed" text,
	"folder" text DEFAULT 'INBOX' NOT NULL,
	"sent_folder" text,
	"processed_action" text DEFAULT 'flag' NOT NULL,
	"processed_folder" text,
	"poll_interval_seconds" integer DEFAULT 60 NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mailbox_imap_settings_tls_check" CHECK ("mailbox_imap_settings"."tls" in ('tls', 'starttls', 'none')),
	CONSTRAINT "mailbox_imap_settings_auth_check" CHECK ("mailbox_imap_settings"."auth" in ('password', 'xoauth2')),
	CONSTRAINT "mailbox_imap_settings_processed_check" CHECK ("mailbox_imap_settings"."processed_action" in ('flag', 'move'))
);
--> statement-breakpoint
ALTER TABLE "mailbox_imap_settings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "mailbox_imap_state" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"mailbox_id" uuid NOT NULL,
	"folder" text NOT NULL,
	"uid_validity" bigint NOT NULL,
	"last_uid" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mailbox_imap_state" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "email_messages" ADD COLUMN "content_in_mailbox" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "mailbox_imap_settings" ADD CONSTRAINT "mailbox_imap_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailbox_imap_settings" ADD CONSTRAINT "mailbox_imap_settings_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailbox_imap_state" ADD CONSTRAINT "mailbox_imap_state_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailbox_imap_state" ADD CONSTRAINT "mailbox_imap_state_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "mailbox_imap_settings_mailbox_key" ON "mailbox_imap_settings" USING btree ("mailbox_id");--> statement-breakpoint
CREATE INDEX "mailbox_imap_settings_org_idx" ON "mailbox_imap_settings" USING btree ("org_id");--> statement-breakpoint
CREATE UNIQUE INDEX "mailbox_imap_state_mailbox_folder_key" ON "mailbox_imap_state" USING btree ("mailbox_id","folder");--> statement-breakpoint
CREATE INDEX "mailbox_imap_state_org_idx" ON "mailbox_imap_state" USING btree ("org_id");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "mailbox_imap_settings" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "mailbox_imap_state" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());