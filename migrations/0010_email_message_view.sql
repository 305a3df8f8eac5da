ALTER TABLE "ticket_messages" ADD COLUMN "email_message_id" text;--> statement-breakpoint
ALTER TABLE "ticket_messages" ADD COLUMN "quoted_text" text;--> statement-breakpoint
ALTER TABLE "ticket_messages" ADD COLUMN "html" text;