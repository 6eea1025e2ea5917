## Giao diện chung
site-name = sohoa
site-tagline = Nền tảng chính quyền số Thành phố Hồ Chí Minh
skip-to-content = Bỏ qua, đến nội dung chính
nav-home = Trang chủ
nav-units = Đơn vị hành chính
nav-agencies = Cơ quan
nav-api = API
lang-switch = English
lang-switch-label = Chuyển sang tiếng Anh
footer-text = sohoa là phần mềm mã nguồn mở. Thời gian hiển thị theo giờ Việt Nam (UTC+7).
footer-openapi = Tài liệu OpenAPI

## Trang chủ
home-title = Chính quyền số cho người dân
home-lead = Tra cứu đơn vị hành chính và cơ quan của Thành phố. Người dân chỉ khai báo một lần: những gì Thành phố đã biết, không phải khai lại.
home-stat-units = { $count } đơn vị cấp xã đang có hiệu lực
home-stat-agencies = { $count } cơ quan
home-units-link = Xem 168 phường, xã, đặc khu
home-agencies-link = Xem danh sách cơ quan
home-reform-note = Từ ngày 01/07/2025, Thành phố Hồ Chí Minh hợp nhất với Bình Dương và Bà Rịa – Vũng Tàu, không còn cấp huyện. Mã đơn vị cũ có thể trùng mã đơn vị mới: hãy chọn ngày khi tra cứu.

## Đơn vị hành chính
units-title = Đơn vị hành chính
units-lead = Các đơn vị có hiệu lực vào ngày đã chọn.
units-search-label = Tìm theo tên hoặc mã (gõ có dấu hoặc không dấu)
units-kind-label = Loại đơn vị
units-kind-any = Tất cả
units-as-of-label = Có hiệu lực vào ngày
units-submit = Tìm
units-count = { $count } đơn vị
units-empty = Không tìm thấy đơn vị nào.
units-col-code = Mã
units-col-name = Tên
units-col-kind = Loại
units-col-parent = Trực thuộc
units-col-valid = Hiệu lực
unit-title = { $name }
unit-code = Mã đơn vị
unit-kind = Loại
unit-parent = Trực thuộc
unit-valid-from = Có hiệu lực từ
unit-valid-to = Hết hiệu lực từ
unit-valid-open = —
unit-before-records = trước khi có dữ liệu
unit-history-title = Các đơn vị từng mang mã { $code }
unit-history-note = Một mã có thể chỉ hai đơn vị khác nhau trước và sau ngày 01/07/2025.

kind-municipality = Thành phố trực thuộc trung ương
kind-province = Tỉnh
kind-urban_district = Quận
kind-rural_district = Huyện
kind-district_city = Thành phố thuộc tỉnh/thành phố
kind-town = Thị xã
kind-ward = Phường
kind-commune = Xã
kind-township = Thị trấn
kind-special_zone = Đặc khu

## Cơ quan
agencies-title = Cơ quan
agencies-lead = Các sở, ngành và Ủy ban nhân dân phường, xã, đặc khu.
agencies-search-label = Tìm cơ quan
agencies-count = { $count } cơ quan
agencies-empty = Chưa có cơ quan nào.
agencies-col-code = Mã
agencies-col-name = Tên
agencies-col-level = Cấp
agencies-col-unit = Địa bàn
level-city = Thành phố
level-commune = Cấp xã

## Phân trang
pager-label = Phân trang
pager-prev = Trang trước
pager-next = Trang sau
pager-status = Trang { $page } / { $last }

## Tài liệu API
apidocs-title = Tài liệu API
apidocs-lead = Mọi API JSON của sohoa được mô tả trong tài liệu OpenAPI 3.1, dùng được với mọi công cụ chuẩn.
apidocs-download = Tải tài liệu OpenAPI (JSON)
apidocs-col-method = Phương thức
apidocs-col-path = Đường dẫn
apidocs-col-summary = Mô tả

## Trang lỗi
error-page-title = Có lỗi xảy ra
error-page-back = Về trang chủ
error-page-code = Mã lỗi: { $code }

## Thông báo lỗi (API và trang)
error-invalid-json = Nội dung gửi lên không phải JSON hợp lệ. Hãy kiểm tra dấu ngoặc, dấu phẩy và dấu nháy.
error-invalid-body = Nội dung gửi lên thiếu trường bắt buộc hoặc có trường sai kiểu dữ liệu.
error-unsupported-media-type = Hãy gửi nội dung với Content-Type: application/json.
error-payload-too-large = Nội dung gửi lên quá lớn (tối đa { $limit } byte).
error-invalid-query = Tham số truy vấn không hợp lệ: { $detail }
error-invalid-page = Số trang phải từ 1 trở lên và số dòng mỗi trang từ 1 đến 200.
error-invalid-date = Ngày không hợp lệ. Hãy dùng dạng NNNN-TT-NN, ví dụ 2025-07-01.
error-invalid-unit-code = Mã đơn vị hành chính phải gồm 2, 3 hoặc 5 chữ số.
error-invalid-unit-kind = Loại đơn vị không hợp lệ.
error-unit-not-found = Không có đơn vị hành chính mang mã này vào ngày đã chọn.
error-unknown-unit = Đơn vị hành chính { $code } không có hiệu lực vào ngày hôm nay.
error-invalid-agency-code = Mã cơ quan gồm 2–40 ký tự: chữ in hoa không dấu, chữ số hoặc dấu gạch ngang.
error-invalid-agency-name = Tên cơ quan phải có từ 1 đến 200 ký tự.
error-agency-level-mismatch = Cơ quan cấp thành phố phải thuộc đơn vị 79; cơ quan cấp xã phải thuộc một phường, xã hoặc đặc khu.
error-agency-not-found = Không tìm thấy cơ quan này.
error-agency-exists = Đã có cơ quan mang mã này.
error-unauthenticated = Cần đăng nhập hoặc mã truy cập hợp lệ.
error-forbidden = Bạn không có quyền thực hiện thao tác này.
error-admin-disabled = Chức năng quản trị chưa được bật trên máy chủ này (chưa cấu hình mã quản trị).
error-not-found = Không tìm thấy trang hoặc tài nguyên này.
error-method-not-allowed = Phương thức HTTP này không được hỗ trợ tại đường dẫn này.
error-timeout = Máy chủ xử lý quá lâu. Hãy thử lại sau ít phút.
error-database-unavailable = Cơ sở dữ liệu tạm thời không sẵn sàng. Hãy thử lại sau ít phút.
error-internal = Đã có lỗi ở phía máy chủ. Lỗi đã được ghi lại; hãy thử lại sau.
error-unknown-agency = Không xác định được cơ quan: cần khóa API hợp lệ của cơ quan (Authorization: Bearer ...).
error-invalid-purpose = Cần nêu mục đích sử dụng hợp pháp: 3–64 ký tự chữ thường không dấu, chữ số, dấu gạch ngang hoặc gạch dưới (ví dụ: cap-phep-xay-dung).
error-invalid-field = Trường dữ liệu { $field } không có trong sổ đăng ký này.
error-invalid-legal-basis = Cần nêu căn cứ pháp lý, từ 1 đến 300 ký tự.
error-no-grant = Cơ quan chưa được cấp quyền đọc dữ liệu này cho mục đích đã nêu. Lần truy cập này đã được ghi nhật ký.
error-field-not-granted = Cơ quan chưa được cấp quyền đọc trường { $field } cho mục đích đã nêu. Lần truy cập này đã được ghi nhật ký.
error-record-not-found = Không có hồ sơ nào mang mã này trong sổ đăng ký. Lần tra cứu này đã được ghi nhật ký.
error-invalid-citizen-id = Số CCCD gồm 12 chữ số, bắt đầu bằng mã tỉnh nơi đăng ký khai sinh.
error-invalid-tax-code = Mã số thuế gồm 10 chữ số (hoặc 10 chữ số, dấu gạch ngang và 3 chữ số cho chi nhánh) với chữ số kiểm tra đúng.
error-key-not-found = Không có khóa API còn hiệu lực mang mã này.
error-grant-not-found = Không có quyền truy cập còn hiệu lực mang mã này.
error-invalid-credentials = Số CCCD (hoặc tên đăng nhập) hoặc mật khẩu không đúng.
error-account-locked = Tài khoản tạm khóa do đăng nhập sai nhiều lần. Hãy thử lại sau 15 phút.
error-unknown-citizen = Không có công dân mang số CCCD này trong cơ sở dữ liệu dân cư.
error-invalid-password = Mật khẩu phải có từ 10 đến 128 ký tự.
error-account-exists = Công dân này đã có tài khoản.
error-invalid-parcel-key = Mã thửa đất có dạng mã đơn vị-số tờ bản đồ-số thửa, ví dụ 26743-12-345.
error-invalid-valid-until = Thời hạn đồng ý phải là một thời điểm trong tương lai, không quá một năm (bắt buộc nếu không phải đồng ý một lần).
error-consent-not-found = Không tìm thấy sự đồng ý này trong các sự đồng ý của bạn.
error-rate-limited = Bạn gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau { $seconds } giây.
error-csrf-failed = Biểu mẫu đã hết hạn hoặc không được gửi từ trang của hệ thống. Vui lòng tải lại trang và gửi lại.
error-invalid-username = Tên đăng nhập gồm 3–32 ký tự: chữ thường không dấu, chữ số, dấu chấm, gạch ngang hoặc gạch dưới, bắt đầu bằng một chữ cái.
error-invalid-display-name = Tên hiển thị có từ 1 đến 200 ký tự.
error-invalid-role = Vai trò phải là một trong: officer, leader, auditor, agency_admin, city_admin, digital_team.
error-role-scope = Phạm vi không hợp với vai trò: cán bộ và quản trị cơ quan phải thuộc một cơ quan; quản trị thành phố không thuộc cơ quan nào; tổ công nghệ số cộng đồng phải gắn với một phường, xã.
error-staff-exists = Tên đăng nhập này đã được dùng.
error-staff-not-found = Không tìm thấy tài khoản cán bộ đang hoạt động có tên đăng nhập này.
