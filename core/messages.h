/* messages.h — every on-screen line of SPEC.md, in one place, as printf formats.
 * <i> backend letter, <j> client letter; names go inside the quotes. Nothing else in the
 * project spells these sentences. */
#ifndef ALICHAIN_MESSAGES_H
#define ALICHAIN_MESSAGES_H

/* backend <i> */
#define MSG_BACKEND_UP "The Server%c is up and running using UDP on port %u."
#define MSG_BACKEND_RECEIVED "The Server%c received a request from the Main Server."
#define MSG_BACKEND_SENT "The Server%c finished sending the response to the Main Server."

/* serverM */
#define MSG_M_UP "The main server is up and running."
#define MSG_M_RECV_BALANCE "The main server received input=\"%s\" from the client using TCP over port %u."
#define MSG_M_RECV_TRANSFER "The main server received from \"%s\" to transfer %lld coins to \"%s\" using TCP over port %u."
#define MSG_M_SENT_BACKEND "The main server sent a request to server %c."
#define MSG_M_RECV_TXS "The main server received transactions from Server %c using UDP over port %u."
#define MSG_M_RECV_FEEDBACK "The main server received the feedback from server %c using UDP over port %u."
#define MSG_M_SENT_BALANCE "The main server sent the current balance to client %c."
#define MSG_M_SENT_RESULT "The main server sent the result of the transaction to client %c."
#define MSG_M_RECV_TXLIST "The main server received a sorted list request from client %c using TCP over port %u."
#define MSG_M_WROTE_TXLIST "The main server wrote the sorted list to %s."
#define MSG_M_RECV_STATS "The main server received a statistics request for \"%s\" from client %c using TCP over port %u."
#define MSG_M_SENT_STATS "The main server sent the statistics to client %c."

/* client <j> */
#define MSG_C_UP "The client %c is up and running."
#define MSG_C_BALANCE_SENT "\"%s\" sent a balance enquiry request to the main server."
#define MSG_C_BALANCE "The current balance of \"%s\" is : %lld alicoins."
#define MSG_C_NOUSER_REQUEST "Unable to proceed with the request as \"%s\" is not part of the network."
#define MSG_C_TRANSFER_SENT "\"%s\" has requested to transfer %lld coins to \"%s\"."
#define MSG_C_TRANSFER_OK "\"%s\" successfully transferred %lld alicoins to \"%s\"."
#define MSG_C_INSUFFICIENT "\"%s\" was unable to transfer %lld alicoins to \"%s\" because of insufficient balance."
#define MSG_C_NOUSER_TX "Unable to proceed with the transaction as \"%s\" is not part of the network."
#define MSG_C_NOUSERS_TX "Unable to proceed with the transaction as \"%s\" and \"%s\" are not part of the network."
#define MSG_C_TXLIST_SENT "Client %c sent a sorted list request to the main server."
#define MSG_C_TXLIST_OK "The sorted list of %llu transactions is ready in %s on the main server."
#define MSG_C_STATS_SENT "\"%s\" sent a statistics enquiry request to the main server."
#define MSG_C_STATS_HEAD "\"%s\" statistics are the following.:"
#define MSG_C_STATS_COLUMNS "Rank--Username--NumofTransactions--Total"
/* One stats row: rank, name, count, total, aligned in columns: each column is as wide as
 * its widest value in the reply (names up to 64 bytes), and at least these widths. Pass
 * width, value for each of the first three: the row of SPEC.md is
 * MSG_C_STATS_ROW with widths 5, 19, 10. */
#define MSG_C_STATS_ROW "%-*llu %-*s %-*llu %lld"
#define MSG_C_STATS_RANK_WIDTH_MIN 5
#define MSG_C_STATS_NAME_WIDTH_MIN 19
#define MSG_C_STATS_COUNT_WIDTH_MIN 10

/* Not in SPEC.md (it lists no sentence for these cases); documented in README.md. */
#define MSG_C_SAME_TX "Unable to proceed with the transaction as \"%s\" cannot transfer coins to itself."

/* A serial stored twice across the block files (core/serials.c): serverM's stderr line and
 * its ERROR INTERNAL text (at most 200 printable bytes with a 20-digit serial and two
 * 64-byte names), and alichain-sim check's. %s: a backend ("serverA") or a file. */
#define MSG_SERIAL_DUP "the ledger is inconsistent: serial %llu is stored by both %s and %s (serials are unique across the block files; alichain-sim check DIR names the lines)"
#define MSG_SERIAL_DUP_COUNT "the ledger is inconsistent: the block files hold %llu transactions under serials up to %llu, so a serial is stored twice (alichain-sim check DIR names it)"

/* client <j> on stderr (the driver puts "client<j>: " before each line); not in SPEC.md.
 * An error reply: <servers> is "serverB", "serverB and serverC", "serverA, serverB and
 * serverC" (client_server_names); MSG_C_STALE's second %s is "has" or "have". */
#define MSG_C_UNAVAILABLE "the ledger is unavailable: %s did not answer the main server in time; try again later"
#define MSG_C_STALE "the main server is out of date: %s %s seen a newer main server, so this one may no longer serve; use the newer one"
#define MSG_C_UNKNOWN "the outcome of the transfer is unknown: the main server could not confirm it in time (check the balance before trying again)"
#define MSG_C_BUSY "the main server is busy; try again"
#define MSG_C_BADREQ "the main server did not understand the request"
#define MSG_C_INTERNAL "the main server failed: %s"
/* The client gave up (exit 3) for one of these reasons; for a transfer whose request went
 * out, the reason is printed inside MSG_C_FAIL_TRANSFER. */
#define MSG_C_FAIL_UNREACHABLE "cannot reach the main server"
#define MSG_C_FAIL_MALFORMED "malformed reply from the main server"
#define MSG_C_FAIL_MALFORMED_ROW "malformed statistics row from the main server"
#define MSG_C_FAIL_ROWS_NOMEM "out of memory for the statistics rows"
#define MSG_C_FAIL_LINE_TOO_LONG "reply line too long from the main server"
#define MSG_C_FAIL_CLOSED_MID_REPLY "the main server closed the connection mid-reply"
#define MSG_C_FAIL_CLOSED "the main server closed the connection without a reply"
#define MSG_C_FAIL_TIMEOUT "no reply from the main server within %u ms"
#define MSG_C_FAIL_TRANSFER "%s; the outcome of the transfer is unknown (check the balance before trying again)"

#endif
